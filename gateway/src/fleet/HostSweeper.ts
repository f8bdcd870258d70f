/**
 * Deals with sandbox hosts that died or drain (fleet mode). Every gateway
 * looks once a heartbeat; one of them (a short lock per host) acts:
 * - a dead host's runs in flight end with `sandbox_unavailable` (their VM is
 *   gone with the host), its waiting runs move to a live host (or end, when
 *   none is left), and its queue is removed;
 * - a draining host's waiting runs move to other hosts.
 * Terminal sessions are swept the same way, from each host's terminal queue.
 * A room whose host died gets a new host on its next run: the request carries
 * the room's files, so its `/workspace` is rebuilt there.
 * @module
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { CodeCellError, HOST_HEARTBEAT_MS, HOST_TTL_MS, fleetJobSchema, fleetTerminalJobSchema } from '@codecell/protocol';
import type { FleetKeys, HostRecord } from '@codecell/protocol';
import { withRedisLock } from '@codecell/redis-kit';
import type { Logger } from '@codecell/server-kit';
import type { RunLogPort } from '../runs/ports.js';
import type { HostDirectory } from './HostDirectory.js';
import type { HostQueueKind, RedisRunQueue } from './RedisRunQueue.js';

/** How long one gateway holds a host while it sweeps it, ms. */
export const SWEEP_LOCK_MS = 10_000;
/** BullMQ states of runs no host took yet. */
const WAITING_STATES = ['waiting', 'prioritized', 'delayed'] as const;

/** Options of {@link HostSweeper}. */
export interface HostSweeperOptions {
  readonly redis: Redis;
  readonly keys: FleetKeys;
  readonly hosts: HostDirectory;
  readonly queue: RedisRunQueue;
  readonly log: RunLogPort;
  readonly logger: Logger;
  /** Who holds the lock (this gateway's id). */
  readonly owner: string;
  /** @default HOST_HEARTBEAT_MS */
  readonly intervalMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Sweeps dead and draining hosts. */
export class HostSweeper {
  readonly #o: HostSweeperOptions;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  /** No host is declared dead before this (epoch ms): hosts get time to re-register after Redis came back. */
  #quietUntil = 0;

  constructor(options: HostSweeperOptions) {
    this.#o = options;
  }

  /** Sweeps every heartbeat until disposed. */
  start(): void {
    this.#timer = setInterval(() => void this.sweep(), this.#o.intervalMs ?? HOST_HEARTBEAT_MS);
    this.#timer.unref();
  }

  /**
   * Declares no host dead for HOST_TTL_MS: called whenever the connection to
   * Redis is established (the first time too), because registrations may
   * have expired while Redis was away although their hosts are alive. A
   * hold-off under way is not extended: a connection that keeps dropping
   * (a proxy closing it) must not put off every sweep for as long as it does.
   */
  holdOff(): void {
    const now = this.#now();
    if (now < this.#quietUntil) return;
    this.#quietUntil = now + HOST_TTL_MS;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /** One pass (at most one at a time); never throws. */
  sweep(): Promise<void> {
    return (this.#running ??= this.#pass()
      .catch((err: unknown) => this.#o.logger.debug('host sweep failed (next heartbeat retries)', { error: String(err) }))
      .finally(() => (this.#running = null)));
  }

  async dispose(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#running;
  }

  async #pass(): Promise<void> {
    const { live, dead } = await this.#o.hosts.hosts(true);
    if (this.#now() >= this.#quietUntil) for (const hostId of dead) await this.#each(hostId, () => this.#sweepDead(hostId, live));
    for (const h of live.filter((x) => x.draining)) await this.#each(h.hostId, () => this.#moveWaiting(h.hostId, live));
  }

  /** One host's part of a pass, under its sweep lock: a host whose sweep fails (tried again next pass) does not hold up the others. */
  async #each(hostId: string, fn: () => Promise<void>): Promise<void> {
    try {
      await withRedisLock(this.#o.redis, { key: this.#o.keys.sweepLock(hostId), ttlMs: SWEEP_LOCK_MS, token: this.#o.owner }, fn);
    } catch (err) {
      this.#o.logger.warn('sweeping a sandbox host failed; the next pass tries again', { hostId, error: String(err) });
    }
  }

  async #sweepDead(hostId: string, live: readonly HostRecord[]): Promise<void> {
    const inFlight = [
      ...(await this.#o.queue.queueOf(hostId, 'run').getJobs(['active'])).map((job) => ({ job, kind: 'run' as const })),
      ...(await this.#o.queue.queueOf(hostId, 'terminal').getJobs(['active'])).map((job) => ({ job, kind: 'terminal' as const })),
    ];
    for (const { job, kind } of inFlight) {
      const stopped = `the sandbox host ${hostId} stopped while this ${kind === 'run' ? 'run was' : 'terminal session was'} in flight (no heartbeat for ${HOST_TTL_MS / 1000} s)`;
      const e = new CodeCellError(
        'sandbox_unavailable',
        kind === 'run' ? `${stopped}; run it again: the room's next run starts on another host` : `${stopped}; open it again: it starts on another host, with the room's files`,
      );
      if (job.id !== undefined) await this.#o.log.finish(job.id, { status: e.code, code: null, message: e.message }, { type: 'error', code: e.code, message: e.message });
    }
    await this.#moveWaiting(hostId, live);
    await this.#o.queue.forget(hostId);
    await this.#o.redis.srem(this.#o.keys.hosts, hostId);
    this.#o.logger.warn('a sandbox host is gone: its runs in flight ended, its waiting runs moved', { hostId, inFlight: inFlight.length });
  }

  /** Moves the runs and terminal sessions waiting on `hostId` to the open hosts with the most free slots; ends them when there is none. */
  async #moveWaiting(hostId: string, live: readonly HostRecord[]): Promise<void> {
    await this.#moveKind(hostId, live, 'run');
    await this.#moveKind(hostId, live, 'terminal');
  }

  async #moveKind(hostId: string, live: readonly HostRecord[], kind: HostQueueKind): Promise<void> {
    const jobs: Job[] = await this.#o.queue.queueOf(hostId, kind).getJobs([...WAITING_STATES]);
    if (jobs.length === 0) return;
    const open = live.filter((h) => h.hostId !== hostId && !h.draining);
    const loads = new Map<string, number>();
    for (const h of open) loads.set(h.hostId, (await this.#o.queue.loadOf(h)).free);
    for (const job of jobs) {
      if (job.id === undefined) continue;
      const parsed = (kind === 'run' ? fleetJobSchema : fleetTerminalJobSchema).safeParse(job.data);
      const to = bestHost(open, loads);
      if (!to || !parsed.success) {
        const e = new CodeCellError('sandbox_unavailable', `no sandbox host is left to run it (${hostId} ${open.length === 0 ? 'was the last one' : 'left'}); start a sandbox host with the same REDIS_URL`);
        await this.#o.queue.queueOf(hostId, kind).remove(job.id);
        await this.#o.log.finish(job.id, { status: e.code, code: null, message: e.message }, { type: 'error', code: e.code, message: e.message });
        continue;
      }
      if (await this.#o.queue.move({ jobId: job.id, from: hostId, to, job: parsed.data, kind })) loads.set(to.hostId, (loads.get(to.hostId) ?? 0) - 1);
    }
    this.#o.logger.info(`moved ${kind === 'run' ? 'runs' : 'terminal sessions'} off a sandbox host`, { hostId, jobs: jobs.length });
  }
}

/** The open host with the most free slots. */
function bestHost(open: readonly HostRecord[], free: ReadonlyMap<string, number>): HostRecord | null {
  let best: HostRecord | null = null;
  for (const h of open) if (!best || (free.get(h.hostId) ?? 0) > (free.get(best.hostId) ?? 0)) best = h;
  return best;
}
