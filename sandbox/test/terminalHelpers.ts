/**
 * Test helpers for TTY runs and terminal sessions: read a job's events while
 * the test types into it.
 * @module
 */
import type { RunEvent } from '@codecell/protocol';
import type { RunJob } from '../src/runs/RunJob.js';
import { summarize } from './runHelpers.js';
import type { Collected } from './runHelpers.js';

/** A job being read in the background: what it printed so far, and its end. */
export class TermReader {
  readonly events: RunEvent[] = [];
  /** Resolves with everything once the job's events end. */
  readonly done: Promise<Collected>;
  #waiters: Array<() => void> = [];

  constructor(readonly job: RunJob) {
    this.done = (async () => {
      for await (const e of job.events) {
        this.events.push(e);
        for (const w of this.#waiters.splice(0)) w();
      }
      for (const w of this.#waiters.splice(0)) w();
      return summarize(this.events);
    })();
  }

  /** The terminal's bytes (stdout) so far. */
  get screen(): string {
    return summarize(this.events).stdout;
  }

  /** Waits until the output contains `what`, then resolves with the output so far. */
  async waitFor(what: string | RegExp, timeoutMs = 60_000): Promise<string> {
    const matches = (): boolean => (typeof what === 'string' ? this.screen.includes(what) : what.test(this.screen));
    const deadline = Date.now() + timeoutMs;
    let ended = false;
    void this.done.then(() => (ended = true));
    while (!matches()) {
      if (ended || Date.now() > deadline) {
        throw new Error(`${ended ? 'the job ended' : `no ${String(what)} within ${timeoutMs} ms`}; output so far: ${JSON.stringify(this.screen.slice(-600))}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.screen;
  }

  /** Types at the terminal (what a keyboard sends: Enter is `\r`). */
  type(data: string): void {
    this.job.sendStdin(data, false);
  }
}
