/**
 * A single-consumer async queue: producers push, one consumer iterates with
 * `for await`. Tracks a caller-defined size so producers can apply backpressure.
 * @module
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: ((r: IteratorResult<T>) => void) | undefined;
  private failWaiter: ((e: unknown) => void) | undefined;
  private ended = false;
  private error: unknown;
  private size = 0;

  constructor(
    private readonly sizeOf: (item: T) => number = () => 1,
    private readonly onDrain?: (size: number) => void,
  ) {}

  /** Queued size as measured by `sizeOf`. */
  get queuedSize(): number {
    return this.size;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  push(item: T): void {
    if (this.ended) return;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      this.failWaiter = undefined;
      w({ value: item, done: false });
      return;
    }
    this.items.push(item);
    this.size += this.sizeOf(item);
  }

  /** Ends the stream after the queued items. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    const w = this.waiter;
    if (w && this.items.length === 0) {
      this.waiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  /** Ends the stream with an error, delivered after the queued items. */
  fail(err: unknown): void {
    if (this.ended) return;
    this.error = err ?? new Error('queue failed');
    this.ended = true;
    const f = this.failWaiter;
    if (f && this.items.length === 0) {
      this.waiter = undefined;
      this.failWaiter = undefined;
      f(this.error);
    }
  }

  /** Takes an already-queued item without waiting, if there is one. */
  tryShift(): T | undefined {
    if (this.items.length === 0) return undefined;
    const value = this.items.shift() as T;
    this.size -= this.sizeOf(value);
    this.onDrain?.(this.size);
    return value;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) {
      const value = this.items.shift() as T;
      this.size -= this.sizeOf(value);
      this.onDrain?.(this.size);
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) {
      return this.error !== undefined ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failWaiter = reject;
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return { next: () => this.next() };
  }
}
