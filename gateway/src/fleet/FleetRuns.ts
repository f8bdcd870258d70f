/**
 * The run backend of fleet mode (REDIS_URL): the queue is BullMQ (a queue per
 * sandbox host, session affinity), the event log is Redis Streams (any
 * gateway serves any `/stream/<jobId>` with full replay), the stdin/kill
 * channel is a control stream per run that its host follows; terminal
 * sessions are shared through a hash per room. Dead and
 * draining hosts are swept by every gateway (one at a time per host).
 * @module
 */
import type { Redis } from 'ioredis';
import type { FleetKeys } from '@codecell/protocol';
import { settleWithin } from '@codecell/redis-kit';
import type { StreamTail } from '@codecell/redis-kit';
import type { Logger } from '@codecell/server-kit';
import type { RunBackend, RunStats } from '../runs/ports.js';
import type { HostDirectory } from './HostDirectory.js';
import { FleetTerminals } from './FleetTerminals.js';
import { HostSweeper } from './HostSweeper.js';
import { RedisRunControl } from './RedisRunControl.js';
import { RedisRunLog } from './RedisRunLog.js';
import { RedisRunQueue } from './RedisRunQueue.js';

/** Options of {@link FleetRuns}. */
export interface FleetRunsOptions {
  readonly redis: Redis;
  readonly keys: FleetKeys;
  readonly tail: StreamTail;
  readonly hosts: HostDirectory;
  readonly logger: Logger;
  /** This gateway's id (holds sweep locks). */
  readonly gatewayId: string;
  /** MAX_QUEUED_RUNS over every host. */
  readonly maxQueued: number;
  /** MAX_QUEUED_BYTES: the largest request one run may queue. */
  readonly maxQueuedBytes: number;
  /** STREAM_REPLAY_BYTES */
  readonly replayBytes: number;
  /** RUN_RETENTION_MS */
  readonly retentionMs: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Longest wait for one Redis step of leaving, ms (Redis may be away). @default REDIS_STEP_MS */
  readonly redisStepMs?: number;
}

/** Longest wait for one Redis step when a gateway leaves the fleet, ms. */
export const REDIS_STEP_MS = 2_000;

/** Runs through Redis. It does not own the connections: whoever made them closes them. */
export class FleetRuns implements RunBackend {
  readonly queue: RedisRunQueue;
  readonly log: RedisRunLog;
  readonly control: RedisRunControl;
  /** The rooms' terminal sessions, shared by every gateway. */
  readonly terminals: FleetTerminals;
  readonly #sweeper: HostSweeper;
  readonly #stepMs: number;

  constructor(o: FleetRunsOptions) {
    const { redis, keys, logger } = o;
    this.#stepMs = o.redisStepMs ?? REDIS_STEP_MS;
    this.queue = new RedisRunQueue({ redis, keys, hosts: o.hosts, logger, maxQueued: o.maxQueued, maxQueuedBytes: o.maxQueuedBytes, replayBytes: o.replayBytes, retentionMs: o.retentionMs });
    this.log = new RedisRunLog({ redis, keys, tail: o.tail, logger, retentionMs: o.retentionMs, gatewayId: o.gatewayId, ...(o.now ? { now: o.now } : {}) });
    this.control = new RedisRunControl({ redis, keys });
    this.terminals = new FleetTerminals({ redis, keys, tail: o.tail, log: this.log, queue: this.queue, logger, ...(o.now ? { now: o.now } : {}) });
    this.#sweeper = new HostSweeper({ redis, keys, hosts: o.hosts, queue: this.queue, log: this.log, logger, owner: o.gatewayId });
    this.#sweeper.start();
    // Registrations may have lapsed while Redis was away though their hosts live: give hosts a heartbeat or two to
    // come back. The first connection too: a gateway started during the outage cannot tell (nor can one after it).
    redis.on('ready', () => this.#sweeper.holdOff());
  }

  /** Sweeps dead and draining hosts now (tests; otherwise every heartbeat). */
  sweep(): Promise<void> {
    return this.#sweeper.sweep();
  }

  stats(): RunStats {
    return { queued: this.queue.waitingHere, active: 0, retained: 0, queuedBytes: 0, heldRequestBytes: 0, retainedReplayBytes: 0 };
  }

  /** Stops following and sweeping. Runs go on on their hosts; their logs stay in Redis for any gateway. */
  async dispose(): Promise<void> {
    // Bounded: a sweep in progress waits for Redis, which may be away.
    await settleWithin(this.#sweeper.dispose(), this.#stepMs);
    this.log.dispose();
    this.terminals.dispose();
    await settleWithin(this.queue.dispose(), this.#stepMs);
  }
}
