/**
 * The run queue on Redis (fleet mode): one BullMQ queue per sandbox host,
 * which that host's worker takes runs from up to its own MAX_CONCURRENT_RUNS.
 * A gateway puts a run of a room on the host holding the room's session VM
 * while that host lives and is not draining (session affinity); any other run
 * on the live host with the most free slots. MAX_QUEUED_RUNS counts the runs
 * waiting on every host, whichever gateway queued them. While runs this
 * gateway queued wait, their position is re-read every second.
 * @module
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { CodeCellError, FLEET_PROTOCOL_VERSION, FLEET_SCRIPTS, RUN_META } from '@codecell/protocol';
import type { FleetJob, FleetKeys, FleetTerminalJob, HostRecord, TerminalRequest } from '@codecell/protocol';
import { appendQueued, evalScript } from '@codecell/redis-kit';
import type { Logger } from '@codecell/server-kit';
import type { Enqueued, QueuedRun, RunFacts, RunQueuePort } from '../runs/ports.js';
import { requestBytes } from '../runs/runRequest.js';
import type { HostDirectory } from './HostDirectory.js';

/** How often positions of waiting runs are re-read, ms. */
export const POSITION_POLL_MS = 1_000;
/** How long a room's host is remembered by the gateway that chose it (the host refreshes it while it keeps the VM), ms. */
export const SESSION_AFFINITY_TTL_MS = 10 * 60_000;

/** Which of a host's two queues: its runs (up to its capacity at once), or its terminal sessions (no run slot). */
export type HostQueueKind = 'run' | 'terminal';

/** A host's runs as the queue sees them. */
export interface HostLoad {
  readonly waiting: number;
  readonly active: number;
  /** Slots free for one more run (negative: that many wait already beyond capacity). */
  readonly free: number;
}

/** Options of {@link RedisRunQueue}. */
export interface RedisRunQueueOptions {
  readonly redis: Redis;
  readonly keys: FleetKeys;
  readonly hosts: HostDirectory;
  readonly logger: Logger;
  /** MAX_QUEUED_RUNS, over every host. */
  readonly maxQueued: number;
  /** MAX_QUEUED_BYTES: the largest request one run may queue (the bytes live in Redis). */
  readonly maxQueuedBytes: number;
  /** STREAM_REPLAY_BYTES, told to the host that writes the log. */
  readonly replayBytes: number;
  /** RUN_RETENTION_MS */
  readonly retentionMs: number;
}

/** Where runs wait, per host. */
export class RedisRunQueue implements RunQueuePort {
  readonly #o: RedisRunQueueOptions;
  readonly #queues = new Map<string, Queue>();
  /** Runs this gateway queued that no host took yet → their host and last told position. */
  readonly #waiting = new Map<string, { hostId: string; position: number }>();
  readonly #timer: NodeJS.Timeout;

  constructor(options: RedisRunQueueOptions) {
    this.#o = options;
    this.#timer = setInterval(() => void this.#pollPositions().catch((err: unknown) => this.#o.logger.debug('position poll failed', { error: String(err) })), POSITION_POLL_MS);
    this.#timer.unref();
  }

  /** Runs this gateway queued that no host took yet (as last seen). */
  get waitingHere(): number {
    return this.#waiting.size;
  }

  /** A BullMQ queue of a host (made once, shared). */
  queueOf(hostId: string, kind: HostQueueKind = 'run'): Queue {
    const name = kind === 'run' ? this.#o.keys.hostQueue(hostId) : this.#o.keys.hostTerminalQueue(hostId);
    let q = this.#queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.#o.redis, prefix: this.#o.keys.bullPrefix });
      q.on('error', (err) => this.#o.logger.debug('queue error', { hostId, kind, error: err.message }));
      this.#queues.set(name, q);
    }
    return q;
  }

  /**
   * Puts a terminal session (its log is open already) on the room's host
   * while that host lives and takes work, else on the open host with the
   * most free slots; its host starts it at once (it takes no run slot).
   * Returns the host's id.
   * @throws CodeCellError capacity_exceeded (its files exceed MAX_QUEUED_BYTES), sandbox_unavailable (no host)
   */
  async enqueueTerminal({ facts, request }: { readonly facts: RunFacts; readonly request: TerminalRequest }): Promise<string> {
    const { redis, keys } = this.#o;
    const bytes = Buffer.byteLength(JSON.stringify(request));
    if (bytes > this.#o.maxQueuedBytes) {
      throw new CodeCellError('capacity_exceeded', `the terminal session's files hold ${bytes} bytes (MAX_QUEUED_BYTES=${this.#o.maxQueuedBytes}); make the room's files smaller`);
    }
    const { open, loads } = await this.#openHosts();
    const host = open[await this.#choose(open, loads, request.sessionId)] as HostRecord;
    await redis.hset(keys.runMeta(facts.jobId), RUN_META.hostId, host.hostId);
    const job: FleetTerminalJob = { v: FLEET_PROTOCOL_VERSION, terminal: request, replayBytes: this.#o.replayBytes, retentionMs: this.#o.retentionMs };
    await this.queueOf(host.hostId, 'terminal').add('terminal', job, { jobId: facts.jobId, removeOnComplete: true, removeOnFail: true });
    return host.hostId;
  }

  async enqueue({ facts, request }: QueuedRun): Promise<Enqueued> {
    const bytes = requestBytes(request);
    if (bytes > this.#o.maxQueuedBytes) {
      throw new CodeCellError('capacity_exceeded', `the run holds ${bytes} bytes of files and stdin (MAX_QUEUED_BYTES=${this.#o.maxQueuedBytes}); make it smaller`);
    }
    const { open, loads } = await this.#openHosts();
    const total = loads.reduce((n, l) => n + l.waiting, 0);
    if (total >= this.#o.maxQueued && loads.every((l) => l.free <= 0)) {
      throw new CodeCellError('capacity_exceeded', `${total} runs are already waiting on ${open.length} sandbox hosts (MAX_QUEUED_RUNS=${this.#o.maxQueued}); try again when one finishes`);
    }
    const i = await this.#choose(open, loads, facts.sessionId);
    const host = open[i] as HostRecord;
    const position = Math.max(0, 1 - (loads[i]?.free ?? 0));
    await this.#add(host.hostId, { facts, request }, position);
    // The run core records the run in its room at once: its request is in Redis already.
    return { position, sent: Promise.resolve() };
  }

  /**
   * The live hosts that take work, with their loads.
   * @throws CodeCellError sandbox_unavailable (none)
   */
  async #openHosts(): Promise<{ open: HostRecord[]; loads: HostLoad[] }> {
    const { live } = await this.#o.hosts.hosts();
    const open = live.filter((h) => !h.draining);
    if (open.length === 0) {
      throw new CodeCellError('sandbox_unavailable', `no sandbox host is registered in Redis (${live.length} draining); start one with the same REDIS_URL and REDIS_PREFIX`);
    }
    return { open, loads: await Promise.all(open.map((h) => this.loadOf(h))) };
  }

  /** What a host has on hand: runs waiting in its queue, taken (BullMQ's own counts), and slots free for one more. */
  async loadOf(h: HostRecord): Promise<HostLoad> {
    const c = await this.queueOf(h.hostId).getJobCounts('waiting', 'prioritized', 'active');
    const waiting = (c['waiting'] ?? 0) + (c['prioritized'] ?? 0);
    const active = Math.max(c['active'] ?? 0, h.active);
    return { waiting, active, free: h.capacity - active - waiting };
  }

  /** Puts a run on a host's queue and records which host has it. */
  async #add(hostId: string, run: QueuedRun, position: number): Promise<void> {
    const { redis, keys } = this.#o;
    const { jobId } = run.facts;
    const tty = run.request.tty !== undefined && run.request.tty !== false;
    await redis.hset(keys.runMeta(jobId), { [RUN_META.hostId]: hostId, ...(tty ? { [RUN_META.tty]: '1' } : {}) });
    const job: FleetJob = { v: FLEET_PROTOCOL_VERSION, request: run.request, replayBytes: this.#o.replayBytes, retentionMs: this.#o.retentionMs };
    await appendQueued({ redis, keys, jobId }, position);
    await this.queueOf(hostId).add('run', job, { jobId, removeOnComplete: true, removeOnFail: true });
    this.#waiting.set(jobId, { hostId, position });
  }

  /**
   * The room's host when it lives and takes runs, else the host with the most
   * free slots, which then holds the room (unless another gateway gave the
   * room a host a moment ago: that one, if it is open).
   */
  async #choose(open: readonly HostRecord[], loads: readonly HostLoad[], sessionId: string | undefined): Promise<number> {
    let best = 0;
    for (let i = 1; i < open.length; i++) if ((loads[i]?.free ?? 0) > (loads[best]?.free ?? 0)) best = i;
    if (sessionId === undefined) return best;
    const { redis, keys } = this.#o;
    const key = keys.session(sessionId);
    const held = await redis.get(key);
    const i = open.findIndex((h) => h.hostId === held);
    if (i >= 0) {
      await redis.pexpire(key, SESSION_AFFINITY_TTL_MS);
      return i;
    }
    const holder = await evalScript(redis, { script: FLEET_SCRIPTS.claimSession, keys: [key], args: [held ?? '', (open[best] as HostRecord).hostId, SESSION_AFFINITY_TTL_MS] });
    const j = open.findIndex((h) => h.hostId === holder);
    return j >= 0 ? j : best;
  }

  async cancel(jobId: string): Promise<boolean> {
    const [hostId, terminal] = await this.#o.redis.hmget(this.#o.keys.runMeta(jobId), RUN_META.hostId, RUN_META.terminal);
    if (!hostId) return false;
    const removed = (await this.queueOf(hostId, terminal === '1' ? 'terminal' : 'run').remove(jobId)) === 1;
    // Removed while waiting: no host took it. A job that is active is locked and stays.
    const state = await this.#o.redis.hget(this.#o.keys.runMeta(jobId), RUN_META.state);
    if (removed) this.#waiting.delete(jobId);
    return removed && state === 'queued';
  }

  async depth(): Promise<number> {
    const { live } = await this.#o.hosts.hosts();
    const counts = await Promise.all(live.map((h) => this.queueOf(h.hostId).getWaitingCount()));
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Moves a waiting run to another host (its host died or drains): added there first, then taken off the old queue. */
  async move(o: { jobId: string; from: string; to: HostRecord; job: FleetJob | FleetTerminalJob; kind: HostQueueKind }): Promise<boolean> {
    const { redis, keys } = this.#o;
    await redis.hset(keys.runMeta(o.jobId), RUN_META.hostId, o.to.hostId);
    await this.queueOf(o.to.hostId, o.kind).add(o.kind, o.job, { jobId: o.jobId, removeOnComplete: true, removeOnFail: true });
    if ((await this.queueOf(o.from, o.kind).remove(o.jobId)) === 1) return true;
    // It was taken on the old host meanwhile: it runs there.
    await this.queueOf(o.to.hostId, o.kind).remove(o.jobId);
    await redis.hset(keys.runMeta(o.jobId), RUN_META.hostId, o.from);
    return false;
  }

  /** Forgets a dead host's queue (after its runs were moved or ended). */
  async forget(hostId: string): Promise<void> {
    for (const kind of ['run', 'terminal'] as const) {
      const q = this.queueOf(hostId, kind);
      await q.obliterate({ force: true });
      this.#queues.delete(q.name);
      await q.close();
    }
  }

  /** Stops polling and closes the queues (not the shared connection). */
  async dispose(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.allSettled([...this.#queues.values()].map((q) => q.close()));
    this.#queues.clear();
  }

  async #pollPositions(): Promise<void> {
    if (this.#waiting.size === 0) return;
    const { redis, keys } = this.#o;
    const byHost = new Map<string, string[]>();
    for (const [jobId, w] of this.#waiting) byHost.set(w.hostId, [...(byHost.get(w.hostId) ?? []), jobId]);
    for (const [hostId, jobIds] of byHost) {
      const host = await this.#o.hosts.get(hostId);
      const q = this.queueOf(hostId);
      // Ids only, oldest first (the whole jobs would carry every request's files).
      const line = await q.getRanges(['waiting'], 0, -1, true);
      const active = await q.getActiveCount();
      const free = host ? Math.max(0, host.capacity - Math.max(active, host.active)) : 0;
      for (const jobId of jobIds) {
        const w = this.#waiting.get(jobId);
        const at = line.indexOf(jobId);
        if (!w || w.hostId !== hostId) continue;
        if (at < 0) {
          this.#waiting.delete(jobId); // a host took it (it tells position 0 itself), it moved, or it ended
          continue;
        }
        const position = Math.max(1, at + 1 - free);
        if (position === w.position) continue;
        w.position = position;
        if (!(await appendQueued({ redis, keys, jobId }, position))) this.#waiting.delete(jobId);
      }
    }
  }
}
