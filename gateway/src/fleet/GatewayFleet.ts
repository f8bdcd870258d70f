/**
 * A gateway's membership of a fleet (REDIS_URL): its Redis connections (one
 * for commands and BullMQ, one blocking for stream tails), the directory of
 * sandbox hosts, the run backend, the global concurrent-run counter, its
 * presence entry, and the peers `/healthz` reports.
 * @module
 */
import type { Redis } from 'ioredis';
import { fleetKeys } from '@codecell/protocol';
import type { FleetKeys, GatewayRecord, HostRecord } from '@codecell/protocol';
import { StreamTail, closeRedis, connectRedis, settleWithin } from '@codecell/redis-kit';
import type { Logger } from '@codecell/server-kit';
import { FleetRuns, REDIS_STEP_MS } from './FleetRuns.js';
import type { FleetRunsOptions } from './FleetRuns.js';
import { GatewayPresence } from './GatewayPresence.js';
import { HostDirectory } from './HostDirectory.js';
import { OrphanAdopter } from './OrphanAdopter.js';
import type { Adopter } from './OrphanAdopter.js';
import type { HostLoad } from './RedisRunQueue.js';
import { RedisActiveRuns } from './RedisActiveRuns.js';

/** How long `/healthz` waits for Redis, ms. */
export const REDIS_PING_TIMEOUT_MS = 1_000;

/** Options of {@link GatewayFleet}. */
export interface GatewayFleetOptions extends Pick<FleetRunsOptions, 'maxQueued' | 'maxQueuedBytes' | 'replayBytes' | 'retentionMs' | 'now' | 'redisStepMs'> {
  /** REDIS_URL */
  readonly redisUrl: string;
  /** REDIS_PREFIX */
  readonly prefix: string;
  readonly gatewayId: string;
  readonly logger: Logger;
  /** What this gateway says of itself in the presence entry. */
  readonly record: () => Omit<GatewayRecord, 'heartbeatAt' | 'gatewayId'>;
}

/** A sandbox host as health reports it. */
export interface HostHealth {
  readonly hostId: string;
  readonly capacity: number;
  readonly active: number;
  /** Capacity minus what runs and what waits in its queue. */
  readonly free: number;
  readonly waiting: number;
  readonly sessions: number;
  readonly idleVms: number;
  readonly draining: boolean;
  readonly ready: boolean;
}

/** The fleet peers a gateway sees. */
export interface FleetPeers {
  readonly redis: { readonly ok: boolean; readonly latencyMs: number | null; readonly message: string | null };
  readonly hosts: readonly HostHealth[];
  readonly gateways: readonly GatewayRecord[];
}

/** The fleet, as one gateway takes part in it. */
export class GatewayFleet {
  readonly redis: Redis;
  readonly keys: FleetKeys;
  readonly hosts: HostDirectory;
  readonly runs: FleetRuns;
  readonly activeRuns: RedisActiveRuns;
  readonly presence: GatewayPresence;
  /** Adopts the runs of gateways that are gone, once {@link adoptOrphans} was called. */
  adopter: OrphanAdopter | null = null;
  readonly #tail: StreamTail;
  readonly #o: GatewayFleetOptions;
  readonly #stepMs: number;

  constructor(o: GatewayFleetOptions) {
    this.#o = o;
    this.#stepMs = o.redisStepMs ?? REDIS_STEP_MS;
    const onError = (err: Error): void => o.logger.debug('redis connection error (retrying)', { error: err.message });
    this.redis = connectRedis({ url: o.redisUrl, name: `codecell-gateway-${o.gatewayId}`, onError });
    this.keys = fleetKeys(o.prefix);
    this.#tail = new StreamTail({
      blocking: connectRedis({ url: o.redisUrl, name: `codecell-gateway-${o.gatewayId}-tail`, onError }),
      client: this.redis,
      prefix: o.prefix,
      onError: (err) => o.logger.debug('run log read failed (retrying)', { error: String(err) }),
      stepMs: this.#stepMs / 2,
    });
    this.hosts = new HostDirectory({ redis: this.redis, keys: this.keys, ...(o.now ? { now: o.now } : {}) });
    this.runs = new FleetRuns({ ...o, redis: this.redis, keys: this.keys, tail: this.#tail, hosts: this.hosts });
    this.activeRuns = new RedisActiveRuns({ redis: this.redis, keys: this.keys, logger: o.logger, ...(o.now ? { now: o.now } : {}) });
    this.presence = new GatewayPresence({ redis: this.redis, keys: this.keys, logger: o.logger, record: () => ({ ...o.record(), gatewayId: o.gatewayId }) });
    this.presence.start();
  }

  /** Starts adopting the runs of gateways that are gone, for `runs` (the gateway's run core). */
  adoptOrphans(runs: Adopter): void {
    this.adopter ??= new OrphanAdopter({ redis: this.redis, keys: this.keys, gatewayId: this.#o.gatewayId, presence: this.presence, runs, logger: this.#o.logger });
    this.adopter.start();
  }

  /** Redis, the live sandbox hosts with their free capacity, and the gateways; never throws. */
  async peers(): Promise<FleetPeers> {
    const started = performance.now();
    try {
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`Redis did not answer within ${REDIS_PING_TIMEOUT_MS} ms`)), REDIS_PING_TIMEOUT_MS).unref());
      await Promise.race([this.redis.ping(), timeout]);
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      const [{ live }, gateways] = await Promise.all([this.hosts.hosts(true), this.presence.list()]);
      const loads = await Promise.all(live.map((h) => this.runs.queue.loadOf(h)));
      const hosts = live.map((h, i) => hostHealth(h, loads[i] ?? { waiting: 0, active: h.active, free: h.capacity - h.active }));
      return { redis: { ok: true, latencyMs, message: null }, hosts, gateways };
    } catch (err) {
      return { redis: { ok: false, latencyMs: null, message: err instanceof Error ? err.message : String(err) }, hosts: [], gateways: [] };
    }
  }

  /** Leaves the fleet: runs continue on their hosts; nothing of them is lost. Safe to call twice. */
  async dispose(): Promise<void> {
    this.activeRuns.dispose();
    await settleWithin(this.adopter?.dispose() ?? Promise.resolve(), this.#stepMs);
    // Each step bounded: with Redis away, a gateway must still stop.
    await settleWithin(this.presence.dispose(), this.#stepMs);
    await settleWithin(this.runs.dispose(), 2.5 * this.#stepMs);
    await this.#tail.dispose();
    await closeRedis(this.redis, this.#stepMs / 2);
  }
}

function hostHealth(h: HostRecord, load: HostLoad): HostHealth {
  return {
    hostId: h.hostId,
    capacity: h.capacity,
    active: load.active,
    free: Math.max(0, load.free),
    waiting: load.waiting,
    sessions: h.sessions,
    idleVms: h.idleVms,
    draining: h.draining,
    ready: h.ready,
  };
}
