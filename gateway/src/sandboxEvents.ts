/**
 * Reading a streamed `POST /run` (or `/terminal`) answer of the sandbox: one
 * parsed RunEvent per NDJSON line. Leaving the stream early closes the
 * connection (the sandbox then kills the run), except after `exit`, when only
 * the stream's end is left: it is read so the connection serves the next run.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { CodeCellError, runEventSchema } from '@codecell/protocol';
import type { RunEvent } from '@codecell/protocol';

/** Largest NDJSON line accepted from the sandbox (its output cap is 16 MiB). */
export const MAX_EVENT_LINE_BYTES = 64 * 1024 * 1024;
/** How long the sandbox has to end a stream after its `exit` event, ms. */
const END_AFTER_EXIT_MS = 1_000;

/** What {@link readRunEvents} needs from its client. */
export interface RunEventsOptions {
  /** The sandbox's address, for error messages. */
  readonly address: string;
  /** The error for a connection that broke mid-stream. */
  readonly broken: (err: unknown) => Error;
  /** Answers whose `exit` was read are added here (stopping them no longer closes their connection). */
  readonly pastExit: WeakSet<IncomingMessage>;
}

/**
 * The run's events, in order, until the answer ends. Iterate once. Read from
 * the answer's `data` events rather than through the stream's async iterator,
 * which runs more code per chunk (issue 12's first-output budget: its chunk
 * reached the page ~0.05 ms sooner, cold, on this host). At most one chunk's
 * events wait for the caller: the answer is paused until they are taken.
 */
export function readRunEvents(res: IncomingMessage, o: RunEventsOptions): AsyncIterable<RunEvent> {
  let taken = false;
  return {
    [Symbol.asyncIterator]: () => {
      if (taken) throw new Error('the events of a run can be read once');
      taken = true;
      return new RunEventReader(res, o);
    },
  };
}

class RunEventReader implements AsyncIterator<RunEvent> {
  readonly #res: IncomingMessage;
  readonly #o: RunEventsOptions;
  readonly #ready: RunEvent[] = [];
  #buffered = '';
  #exited = false;
  /** The answer ended (all its lines are in #ready). */
  #ended = false;
  #failure: Error | null = null;
  /** The reader let go of the answer (see #release). */
  #released = false;
  #waiting: { resolve: (r: IteratorResult<RunEvent>) => void; reject: (err: Error) => void } | null = null;

  constructor(res: IncomingMessage, o: RunEventsOptions) {
    this.#res = res;
    this.#o = o;
    res.setEncoding('utf8');
    res.on('data', this.#onData);
    res.on('end', this.#onEnd);
    res.on('error', this.#onError);
    res.on('close', this.#onClose);
  }

  next(): Promise<IteratorResult<RunEvent>> {
    const event = this.#ready.shift();
    if (event !== undefined) {
      if (this.#ready.length === 0 && !this.#released) this.#res.resume();
      return Promise.resolve({ value: event, done: false });
    }
    if (this.#failure !== null) {
      this.#release();
      return Promise.reject(this.#failure);
    }
    if (this.#ended || this.#released) {
      this.#release();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }));
  }

  /** The caller left the loop early. */
  return(): Promise<IteratorResult<RunEvent>> {
    this.#release();
    return Promise.resolve({ value: undefined, done: true });
  }

  readonly #onData = (chunk: string): void => {
    if (this.#released || this.#failure !== null) return;
    this.#buffered += chunk;
    try {
      if (this.#buffered.length > MAX_EVENT_LINE_BYTES) {
        throw new CodeCellError('internal_error', `the sandbox sent an event line longer than ${MAX_EVENT_LINE_BYTES} bytes`);
      }
      let nl: number;
      while ((nl = this.#buffered.indexOf('\n')) >= 0) {
        const line = this.#buffered.slice(0, nl);
        this.#buffered = this.#buffered.slice(nl + 1);
        if (line.trim() !== '') this.#push(parseLine(line, this.#o.address));
      }
    } catch (err) {
      return this.#fail(err);
    }
    // The caller has not taken them all: read no more until it has.
    if (this.#ready.length > 0) this.#res.pause();
  };

  readonly #onEnd = (): void => {
    if (this.#released || this.#failure !== null) return;
    try {
      if (this.#buffered.trim() !== '') this.#push(parseLine(this.#buffered, this.#o.address));
    } catch (err) {
      return this.#fail(err);
    }
    this.#buffered = '';
    this.#ended = true;
    this.#wake();
  };

  readonly #onError = (err: Error): void => this.#fail(err);

  /**
   * Closed before its end: the connection broke (an `error` usually came
   * first and counts), unless the whole answer had arrived, which then ends
   * with what was read (a run without its `exit` is the caller's error).
   */
  readonly #onClose = (): void => {
    if (this.#ended) return;
    if (this.#res.complete) this.#onEnd();
    else this.#fail(Object.assign(new Error('the answer closed before it ended'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
  };

  #push(event: RunEvent): void {
    this.#exited = event.type === 'exit';
    const waiting = this.#waiting;
    if (waiting === null) return void this.#ready.push(event);
    this.#waiting = null;
    waiting.resolve({ value: event, done: false });
  }

  #fail(err: unknown): void {
    if (this.#released || this.#failure !== null || this.#ended) return;
    this.#failure = err instanceof CodeCellError || isAbort(err) ? (err as Error) : this.#o.broken(err);
    this.#wake();
  }

  /** Tells a waiting caller that the answer ended or failed (events it has not taken come first). */
  #wake(): void {
    const waiting = this.#waiting;
    if (waiting === null || this.#ready.length > 0) return;
    this.#waiting = null;
    if (this.#failure !== null) {
      this.#release();
      waiting.reject(this.#failure);
    } else {
      this.#release();
      waiting.resolve({ value: undefined, done: true });
    }
  }

  /** Done with the answer: past `exit` it is drained so its connection serves the next run, else closed. Once. */
  #release(): void {
    if (this.#released) return;
    this.#released = true;
    const res = this.#res;
    res.off('data', this.#onData);
    res.off('end', this.#onEnd);
    res.off('close', this.#onClose);
    // Kept: an error after this point must not become an uncaught exception.
    res.off('error', this.#onError);
    res.on('error', ignore);
    if (this.#exited && this.#failure === null) {
      this.#o.pastExit.add(res);
      awaitEnd(res);
    } else if (!res.complete) res.destroy();
  }
}

function ignore(): void {}

function parseLine(line: string, address: string): RunEvent {
  const parsed = runEventSchema.safeParse(safeJson(line));
  if (parsed.success) return parsed.data;
  throw new CodeCellError('internal_error', `the sandbox at ${address} sent an invalid run event: ${line.slice(0, 200)}`);
}

/** Lets an answer whose last event was read end by itself (so its connection is reused), or closes it after a while. */
function awaitEnd(res: IncomingMessage): void {
  if (res.complete) return;
  const timer = setTimeout(() => res.destroy(), END_AFTER_EXIT_MS);
  timer.unref();
  res.once('close', () => clearTimeout(timer));
  res.resume();
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

/** An error's code and message, for error messages. */
export function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code} ${err.message}` : err.message;
  }
  return String(err);
}
