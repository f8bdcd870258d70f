/**
 * How many runs the in-process backend sends its sandbox at once: what the
 * sandbox's `GET /healthz` says it executes (`limits.maxConcurrentRuns`, its
 * MAX_CONCURRENT_RUNS), re-read now and then since the sandbox may restart
 * with another value. The one admission point into execution is the sandbox.
 * @module
 */
import type { Logger } from '@codecell/server-kit';
import type { SandboxApi } from '../ports.js';

/** Runs sent to a sandbox at once until its health says how many it executes. */
export const DEFAULT_SANDBOX_SLOTS = 4;
/** How often the sandbox's slot count is read again (it may restart with another MAX_CONCURRENT_RUNS), ms. */
export const SLOTS_REFRESH_MS = 30_000;

/** Options of {@link SandboxSlots}. */
export interface SandboxSlotsOptions {
  readonly sandbox: SandboxApi;
  readonly logger: Logger;
  readonly now: () => number;
  /** A count to keep instead of asking the sandbox (tests with fake sandboxes). */
  readonly fixed: number | undefined;
  /** Told when the count changed. */
  readonly onChange: () => void;
}

/** The sandbox's slot count, as last learned. */
export class SandboxSlots {
  readonly #o: SandboxSlotsOptions;
  #count: number;
  #readAt = -Infinity;

  constructor(o: SandboxSlotsOptions) {
    this.#o = o;
    this.#count = o.fixed ?? DEFAULT_SANDBOX_SLOTS;
  }

  get count(): number {
    return this.#count;
  }

  /** Reads the count again soon (the sandbox did not answer: it may have restarted). */
  forget(): void {
    this.#readAt = -Infinity;
  }

  /** Reads the sandbox's slot count now and then, in the background (the last known count applies meanwhile). */
  refresh(): void {
    if (this.#o.fixed !== undefined || this.#o.now() - this.#readAt < SLOTS_REFRESH_MS) return;
    this.#readAt = this.#o.now();
    this.#o.sandbox.health(AbortSignal.timeout(2_000)).then(
      (h) => {
        const slots = h.limits.maxConcurrentRuns;
        if (slots === undefined || slots === this.#count) return;
        this.#o.logger.info('the sandbox executes this many runs at once (its MAX_CONCURRENT_RUNS)', { slots });
        this.#count = slots;
        this.#o.onChange();
      },
      () => (this.#readAt = -Infinity),
    );
  }
}
