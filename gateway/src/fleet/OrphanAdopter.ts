/**
 * Runs whose gateway is gone (fleet mode). A run goes on on its host when the
 * gateway that submitted it dies or stops, but that gateway was the one to
 * record its end in the room, put the files it wrote into the room and charge
 * its CPU time. Each gateway keeps the runs it follows in its `followed` set;
 * every sweep, a live gateway takes the set of each gateway no longer in the
 * `gateways` hash (listed in `followers`; one adopter at a time per gone gateway, under a lock), moves its
 * runs into its own set one by one (SMOVE: each run to one adopter) and
 * follows them from their replay, as if it had submitted them. A gateway
 * restarted under the same GATEWAY_ID adopts what its earlier process left.
 * @module
 */
import type { Redis } from 'ioredis';
import { GATEWAY_HEARTBEAT_MS } from '@codecell/protocol';
import type { FleetKeys } from '@codecell/protocol';
import { withRedisLock } from '@codecell/redis-kit';
import type { Logger } from '@codecell/server-kit';
import type { GatewayPresence } from './GatewayPresence.js';

/** What adopting needs from the run core (RunManager). */
export interface Adopter {
  /**
   * Follows the run from its replay; false when it is unknown or expired.
   * With `submittedBefore`, a run submitted since is left alone (true): this
   * process is about to follow it itself.
   */
  adopt(jobId: string, o?: { readonly submittedBefore?: number }): Promise<boolean>;
  isFollowing(jobId: string): boolean;
}

/** Options of {@link OrphanAdopter}. */
export interface OrphanAdopterOptions {
  readonly redis: Redis;
  readonly keys: FleetKeys;
  readonly gatewayId: string;
  readonly presence: GatewayPresence;
  readonly runs: Adopter;
  readonly logger: Logger;
  /** @default GATEWAY_HEARTBEAT_MS */
  readonly intervalMs?: number;
}

/** How long a gateway may take to adopt one gone gateway's runs before another may try, ms. */
const ADOPT_LOCK_MS = 60_000;

export class OrphanAdopter {
  readonly #o: OrphanAdopterOptions;
  #timer: NodeJS.Timeout | null = null;
  #sweeping: Promise<void> | null = null;
  #disposed = false;
  /** Runs of this gateway's own set that an earlier process under its id left: checked once. */
  #ownChecked = false;
  /** When this process began: its own runs were submitted since. */
  readonly #startedAt = Date.now();
  /** Runs moved into this gateway's set whose adoption failed (Redis away): tried again every sweep. */
  readonly #retry = new Set<string>();

  constructor(options: OrphanAdopterOptions) {
    this.#o = options;
  }

  /** Sweeps now and every interval. */
  start(): void {
    void this.sweep();
    this.#timer = setInterval(() => void this.sweep(), this.#o.intervalMs ?? GATEWAY_HEARTBEAT_MS);
    this.#timer.unref();
  }

  /** One sweep (one at a time); never throws. */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweep()
      // Redis away is the usual cause, and the next heartbeat tries again (as presence and the sweeper do).
      .catch((err: unknown) => this.#o.logger.debug('could not adopt the runs of gone gateways (trying again)', { error: String(err) }))
      .finally(() => (this.#sweeping = null));
    return this.#sweeping;
  }

  /** Stops sweeping; waits for a sweep in progress. Safe to call twice. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#sweeping;
  }

  async #sweep(): Promise<void> {
    const { redis, keys, gatewayId } = this.#o;
    const own = keys.followed(gatewayId);
    for (const jobId of [...this.#retry]) {
      this.#retry.delete(jobId);
      if (!this.#o.runs.isFollowing(jobId)) await this.#adopt(jobId);
    }
    // Under the lock another gateway takes to adopt this id's runs (it may think this one gone while it restarts).
    if (!this.#ownChecked) {
      await this.#withLock(gatewayId, async () => {
        // Runs submitted now are in the set a moment before this process follows them: only those from before it began are adopted.
        for (const jobId of await redis.smembers(own)) if (!this.#o.runs.isFollowing(jobId)) await this.#adopt(jobId, this.#startedAt);
        this.#ownChecked = true;
      });
    }
    const live = new Set((await this.#o.presence.list()).map((g) => g.gatewayId));
    for (const gone of await redis.smembers(keys.followers)) {
      if (gone === gatewayId || live.has(gone) || this.#disposed) continue;
      await this.#adoptAllOf(gone);
    }
  }

  async #adoptAllOf(gone: string): Promise<void> {
    const { redis, keys, gatewayId } = this.#o;
    await this.#withLock(gone, async () => {
      const from = keys.followed(gone);
      const jobIds = await redis.smembers(from);
      let adopted = 0;
      for (const jobId of jobIds) {
        if (this.#disposed) return;
        // Each run to one gateway, even if two got here.
        if ((await redis.smove(from, keys.followed(gatewayId), jobId)) !== 1) continue;
        if (await this.#adopt(jobId)) adopted++;
      }
      if (jobIds.length > 0) this.#o.logger.info('adopted the runs of a gateway that is gone', { gone, runs: adopted });
      // Nothing left to adopt: it leaves the list (it comes back if a gateway under that id opens runs again).
      if ((await redis.scard(from)) === 0) await redis.srem(keys.followers, gone);
    });
  }

  /** Runs `fn` holding the lock on adopting `id`'s runs; nothing when another gateway holds it. */
  async #withLock(id: string, fn: () => Promise<void>): Promise<void> {
    await withRedisLock(this.#o.redis, { key: this.#o.keys.adoptLock(id), ttlMs: ADOPT_LOCK_MS, token: this.#o.gatewayId }, fn);
  }

  /** Follows one run; one that is gone (expired) leaves the set. */
  async #adopt(jobId: string, submittedBefore?: number): Promise<boolean> {
    const { redis, keys, gatewayId } = this.#o;
    try {
      if (await this.#o.runs.adopt(jobId, submittedBefore === undefined ? {} : { submittedBefore })) return true;
    } catch (err) {
      this.#o.logger.warn('could not adopt a run of a gone gateway (trying again)', { jobId, error: String(err) });
      this.#retry.add(jobId);
      return false;
    }
    await redis.srem(keys.followed(gatewayId), jobId);
    return false;
  }
}
