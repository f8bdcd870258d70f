/**
 * The gateway's FIFO of runs waiting for a sandbox slot, with the bytes their
 * requests hold (MAX_QUEUED_BYTES) and one run per room at a time.
 * @module
 */
import type { Run } from './Run.js';

/** Runs waiting, oldest first. */
export class RunQueue {
  readonly #runs: Run[] = [];
  #bytes = 0;

  get length(): number {
    return this.#runs.length;
  }

  /** Bytes of the waiting runs' requests. */
  get bytes(): number {
    return this.#bytes;
  }

  push(run: Run): void {
    this.#runs.push(run);
    this.#bytes += run.requestBytes;
  }

  /** Takes `run` out; false when it was not waiting. */
  remove(run: Run): boolean {
    const i = this.#runs.indexOf(run);
    if (i < 0) return false;
    this.#take(i);
    return true;
  }

  /**
   * Takes out the oldest run whose room has no run at the sandbox: a room that
   * queued several runs must not take every slot (its runs share one VM).
   */
  takeNext(busyRooms: ReadonlySet<string>): Run | undefined {
    const i = this.#runs.findIndex((r) => r.sessionId === undefined || !busyRooms.has(r.sessionId));
    return i < 0 ? undefined : this.#take(i);
  }

  /** Takes out every run, oldest first. */
  drain(): Run[] {
    const all = this.#runs.splice(0);
    this.#bytes = 0;
    return all;
  }

  /** Calls `fn` with each run and its position (1 = next). */
  forEachPosition(fn: (run: Run, position: number) => void): void {
    this.#runs.forEach((run, i) => fn(run, i + 1));
  }

  /** The run's position (1 = next), or 0 when it is not waiting. */
  positionOf(run: Run): number {
    return this.#runs.indexOf(run) + 1;
  }

  #take(i: number): Run | undefined {
    const [run] = this.#runs.splice(i, 1);
    if (run) this.#bytes -= run.requestBytes;
    return run;
  }
}
