/**
 * QUOTA_CONCURRENT_RUNS across every gateway (fleet mode): each run queued or
 * running holds a token in its quota key's sorted set in Redis, scored by
 * when it lapses. The gateway holding a token refreshes it while the run
 * lasts, so the tokens of a gateway that died lapse within
 * {@link ACTIVE_TOKEN_TTL_MS} instead of blocking their user for good.
 * @module
 */
import type { Redis } from 'ioredis';
import { FLEET_SCRIPTS } from '@codecell/protocol';
import type { FleetKeys } from '@codecell/protocol';
import { evalScript } from '@codecell/redis-kit';
import { randomId } from '@codecell/server-kit';
import type { Logger } from '@codecell/server-kit';
import type { ActiveRuns } from '../quotas/ActiveRuns.js';

/** A token not refreshed for this long no longer counts, ms. */
export const ACTIVE_TOKEN_TTL_MS = 30_000;
/** How often held tokens are refreshed, ms. */
export const ACTIVE_TOKEN_REFRESH_MS = 10_000;

/** Options of {@link RedisActiveRuns}. */
export interface RedisActiveRunsOptions {
  readonly redis: Redis;
  readonly keys: FleetKeys;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Concurrent runs per quota key, counted in Redis. */
export class RedisActiveRuns implements ActiveRuns {
  readonly #o: RedisActiveRunsOptions;
  /** Tokens this gateway holds, per quota key. */
  readonly #held = new Map<string, string[]>();
  readonly #timer: NodeJS.Timeout;

  constructor(options: RedisActiveRunsOptions) {
    this.#o = options;
    this.#timer = setInterval(() => void this.#refresh(), ACTIVE_TOKEN_REFRESH_MS);
    this.#timer.unref();
  }

  async tryAcquire(o: { key: string; limit: number }): Promise<{ ok: boolean; used: number }> {
    const token = randomId(9);
    const now = this.#now();
    const r = (await evalScript(this.#o.redis, { script: FLEET_SCRIPTS.acquireActive, keys: [this.#o.keys.activeRuns(o.key)], args: [now, o.limit, token, now + ACTIVE_TOKEN_TTL_MS] })) as [number, number];
    if (r[0] === 1) this.#held.set(o.key, [...(this.#held.get(o.key) ?? []), token]);
    return { ok: r[0] === 1, used: r[1] };
  }

  release(key: string): void {
    const tokens = this.#held.get(key);
    const token = tokens?.pop();
    if (tokens?.length === 0) this.#held.delete(key);
    if (token === undefined) return;
    this.#o.redis.zrem(this.#o.keys.activeRuns(key), token).catch((err: unknown) => this.#o.logger.warn('could not release a concurrent-run token (it lapses by itself)', { error: String(err) }));
  }

  async count(key: string): Promise<number> {
    return this.#o.redis.zcount(this.#o.keys.activeRuns(key), this.#now(), '+inf');
  }

  dispose(): void {
    clearInterval(this.#timer);
  }

  async #refresh(): Promise<void> {
    if (this.#held.size === 0) return;
    const until = this.#now() + ACTIVE_TOKEN_TTL_MS;
    const multi = this.#o.redis.multi();
    for (const [key, tokens] of this.#held) {
      for (const t of tokens) multi.zadd(this.#o.keys.activeRuns(key), 'XX', until, t);
      multi.pexpireat(this.#o.keys.activeRuns(key), until);
    }
    await multi.exec().catch((err: unknown) => this.#o.logger.debug('could not refresh concurrent-run tokens', { error: String(err) }));
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}
