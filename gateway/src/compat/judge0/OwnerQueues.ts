/**
 * One FIFO queue per owner (J6 in gateway/SPEC.md): an owner's items are
 * started in order, at most `maxInFlight` at a time, independently of other
 * owners. A start that is refused for a while (a quota, a full run queue)
 * holds that owner's queue and tries again after the delay it names.
 * @module
 */

/** How a start went. */
export type StartResult =
  /** Handed over; `done` settles when it no longer counts as in flight. */
  | { readonly kind: 'started'; readonly done: Promise<void> }
  /** Refused for now: the owner's queue waits this long, then tries the same item again. */
  | { readonly kind: 'retry'; readonly delayMs: number }
  /** Refused for good: the item was dealt with and leaves the queue. */
  | { readonly kind: 'dropped' };

interface Queue<TItem> {
  readonly waiting: TItem[];
  inFlight: number;
  pumping: boolean;
  again: boolean;
  retry: NodeJS.Timeout | null;
}

/** Options of {@link OwnerQueues}. */
export interface OwnerQueuesOptions<TItem> {
  /** Items of one owner started and not yet done, at most. */
  readonly maxInFlight: number;
  /** Starts an item; must not throw. */
  readonly start: (item: TItem) => Promise<StartResult>;
}

/** The owners' queues. */
export class OwnerQueues<TItem> {
  readonly #o: OwnerQueuesOptions<TItem>;
  readonly #queues = new Map<string, Queue<TItem>>();
  #stopped = false;

  constructor(options: OwnerQueuesOptions<TItem>) {
    this.#o = options;
  }

  /** Queues items behind the owner's earlier ones and starts what there is room for. */
  push(owner: string, items: readonly TItem[]): void {
    if (this.#stopped) throw new Error('the queues were stopped');
    this.#queueOf(owner).waiting.push(...items);
    void this.#pump(owner);
  }

  /** Stops starting anything; returns every item still waiting (in-flight ones go on). */
  stop(): TItem[] {
    this.#stopped = true;
    const waiting: TItem[] = [];
    for (const q of this.#queues.values()) {
      if (q.retry) clearTimeout(q.retry);
      q.retry = null;
      waiting.push(...q.waiting.splice(0));
    }
    return waiting;
  }

  #queueOf(owner: string): Queue<TItem> {
    let q = this.#queues.get(owner);
    if (!q) this.#queues.set(owner, (q = { waiting: [], inFlight: 0, pumping: false, again: false, retry: null }));
    return q;
  }

  /** Starts the owner's items while there is room. One pump per owner at a time; a call during one makes it go round again. */
  async #pump(owner: string): Promise<void> {
    const q = this.#queueOf(owner);
    if (q.pumping) {
      q.again = true;
      return;
    }
    q.pumping = true;
    try {
      do {
        q.again = false;
        while (!this.#stopped && q.retry === null && q.inFlight < this.#o.maxInFlight && q.waiting.length > 0) {
          if (!(await this.#startFirst(owner, q))) break;
        }
      } while (q.again && !this.#stopped);
    } finally {
      q.pumping = false;
      if (q.waiting.length === 0 && q.inFlight === 0 && q.retry === null) this.#queues.delete(owner);
    }
  }

  /** False when the owner's queue must wait. */
  async #startFirst(owner: string, q: Queue<TItem>): Promise<boolean> {
    const item = q.waiting[0] as TItem;
    const r = await this.#o.start(item);
    if (r.kind === 'retry') {
      q.retry = setTimeout(() => {
        q.retry = null;
        void this.#pump(owner);
      }, r.delayMs);
      return false;
    }
    q.waiting.shift();
    if (r.kind === 'started') {
      q.inFlight++;
      // The owner's queue stays in the map while anything is in flight.
      void r.done.finally(() => {
        q.inFlight--;
        void this.#pump(owner);
      });
    }
    return true;
  }
}
