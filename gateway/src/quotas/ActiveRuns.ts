/**
 * Runs queued or running per quota key (QUOTA_CONCURRENT_RUNS). In one
 * process a map does; a fleet counts in Redis (fleet/RedisActiveRuns.ts) so
 * the limit holds across gateways.
 * @module
 */

/** The counter QuotaExtension uses. */
export interface ActiveRuns {
  /** Counts one more run of `key` unless `limit` (0: none) are counted already. Atomic. */
  tryAcquire(o: { key: string; limit: number }): Promise<{ ok: boolean; used: number }>;
  /** One run of `key` ended (or was refused after it was counted). */
  release(key: string): void;
  /** Runs of `key` counted now. */
  count(key: string): Promise<number>;
  /** Stops any timers. */
  dispose(): void;
}

/** The in-process counter (the embedded default). */
export class LocalActiveRuns implements ActiveRuns {
  readonly #active = new Map<string, number>();

  async tryAcquire(o: { key: string; limit: number }): Promise<{ ok: boolean; used: number }> {
    const n = this.#active.get(o.key) ?? 0;
    if (o.limit > 0 && n >= o.limit) return { ok: false, used: n };
    this.#active.set(o.key, n + 1);
    return { ok: true, used: n + 1 };
  }

  release(key: string): void {
    const n = (this.#active.get(key) ?? 1) - 1;
    if (n > 0) this.#active.set(key, n);
    else this.#active.delete(key);
  }

  async count(key: string): Promise<number> {
    return this.#active.get(key) ?? 0;
  }

  dispose(): void {}
}
