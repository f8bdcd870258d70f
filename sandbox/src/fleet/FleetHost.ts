/**
 * A sandbox host in a fleet (REDIS_URL set): a BullMQ worker beside the HTTP
 * server takes runs from this host's queue, up to MAX_CONCURRENT_RUNS at
 * once, and a second worker its terminal sessions (they hold no run slot),
 * and executes them (see FleetRunExecutor); the host registers itself
 * and refreshes its registration every heartbeat. Drain (SIGTERM): say so in
 * the registration at once (gateways stop sending runs and move what waits
 * here to other hosts), end its terminal sessions (they open again on
 * another host), finish the runs in progress, then leave.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { CodeCellError, fleetKeys } from '@codecell/protocol';
import type { FleetKeys, HostFleetHealth } from '@codecell/protocol';
import { StreamTail, closeRedis, connectRedis, settleWithin } from '@codecell/redis-kit';
import type { Logger } from '@codecell/server-kit';
import { executeFleetJob } from './FleetRunExecutor.js';
import type { ExecutionHandle, FleetJobInput, FleetRunContext } from './FleetRunExecutor.js';
import { HostRegistration } from './HostRegistration.js';
import type { HostRunner } from './ports.js';

/**
 * Terminal sessions this host's terminal worker executes at once; the sandbox
 * refuses beyond its own limits (MAX_SESSIONS, 4 terminals per session).
 */
export const TERMINAL_CONCURRENCY = 256;

/**
 * How long a job this host took stays locked without a renewal, ms. A job
 * left locked by nobody (the reply of the fetch that took it was lost when
 * Redis restarted, and ioredis sent the fetch again) is taken again once its
 * lock lapsed: within about 1.5 times this.
 */
export const JOB_LOCK_MS = 10_000;

/** Longest wait for the worker to stop when leaving, ms. */
export const LEAVE_TIMEOUT_MS = 3_000;
/** Longest wait for one Redis step of drain or leave (Redis may be away), ms. */
export const REDIS_STEP_TIMEOUT_MS = 2_000;

/** Options of {@link FleetHost.start}. */
export interface FleetHostOptions {
  /** REDIS_URL */
  readonly redisUrl: string;
  /** REDIS_PREFIX */
  readonly prefix: string;
  /** SANDBOX_HOST_ID. @default random */
  readonly hostId?: string | undefined;
  readonly runner: HostRunner;
  readonly logger: Logger;
  /** SESSION_IDLE_MS: how long a room's VM stays here after its last run. */
  readonly sessionTtlMs: number;
  /** @default HOST_HEARTBEAT_MS */
  readonly heartbeatMs?: number;
  /** How long a taken job stays locked without renewal (the worker renews it at half), ms; a job whose lock lapsed is taken again. @default JOB_LOCK_MS */
  readonly lockMs?: number;
  /** Longest wait for one Redis step of drain or leave, ms (the worker gets 1.5 times this to stop). @default REDIS_STEP_TIMEOUT_MS */
  readonly redisStepMs?: number;
}

function drainingError(): CodeCellError {
  return new CodeCellError('sandbox_unavailable', 'the sandbox host is draining (SIGTERM), so its terminal sessions end; open the terminal again: it starts on another host, with the room\'s files');
}

/** This host's part in the fleet. */
export class FleetHost {
  readonly hostId: string;
  readonly #o: FleetHostOptions;
  readonly #redis: Redis;
  readonly #tail: StreamTail;
  readonly #registration: HostRegistration;
  readonly #worker: Worker;
  /** Takes terminal sessions (shell, REPL), which hold no run slot. */
  readonly #terminalWorker: Worker;
  readonly #terminals = new Set<ExecutionHandle>();
  /** The jobs (of either queue; ids are unique) this host is executing. */
  readonly #executions = new Map<string, Promise<void>>();
  readonly #keys: FleetKeys;
  #active = 0;
  #workerClosed: Promise<void> | null = null;
  #draining = false;
  #closing: Promise<void> | null = null;
  readonly #stepMs: number;

  private constructor(o: FleetHostOptions) {
    this.#o = o;
    this.#stepMs = o.redisStepMs ?? REDIS_STEP_TIMEOUT_MS;
    this.hostId = o.hostId ?? `h-${randomBytes(6).toString('hex')}`;
    const onError = (err: Error): void => o.logger.debug('redis connection error (retrying)', { error: err.message });
    this.#redis = connectRedis({ url: o.redisUrl, name: `codecell-sandbox-${this.hostId}`, onError });
    this.#keys = fleetKeys(o.prefix);
    this.#tail = new StreamTail({
      blocking: connectRedis({ url: o.redisUrl, name: `codecell-sandbox-${this.hostId}-tail`, onError }),
      client: this.#redis,
      prefix: o.prefix,
      onError: (err) => o.logger.debug('control stream read failed (retrying)', { error: String(err) }),
      stepMs: this.#stepMs / 2,
    });
    this.#registration = new HostRegistration({
      redis: this.#redis,
      keys: this.#keys,
      hostId: this.hostId,
      logger: o.logger,
      ...(o.heartbeatMs === undefined ? {} : { heartbeatMs: o.heartbeatMs }),
      stats: () => {
        const s = o.runner.stats();
        return { ...s, active: Math.max(s.active, this.#active), runtimes: o.runner.runtimes() };
      },
    });
    this.#worker = this.#newWorker('run', o.runner.stats().capacity);
    this.#terminalWorker = this.#newWorker('terminal', TERMINAL_CONCURRENCY);
  }

  /** A worker of one of this host's queues, `concurrency` jobs at once. */
  #newWorker(kind: 'run' | 'terminal', concurrency: number): Worker {
    const o = this.#o;
    const ctx: FleetRunContext = { redis: this.#redis, keys: this.#keys, tail: this.#tail, runner: o.runner, logger: o.logger, hostId: this.hostId, sessionTtlMs: o.sessionTtlMs };
    const worker = new Worker(
      kind === 'run' ? this.#keys.hostQueue(this.hostId) : this.#keys.hostTerminalQueue(this.hostId),
      async (job) => {
        const jobId = job.id ?? '';
        // Handed out again while this host still executes it (its lock lapsed while Redis was away, and the
        // stalled check put it back in line): wait for that execution instead of starting the job again.
        // The job stays `active` meanwhile, so the sweep of this host, should it die, still finds it.
        const inProgress = this.#executions.get(jobId);
        if (inProgress) {
          o.logger.info('a job this host is executing was handed out again (its lock lapsed); waiting for it', { kind, jobId });
          return inProgress;
        }
        const execution = this.#execute(ctx, { jobId, data: job.data, kind });
        this.#executions.set(jobId, execution);
        try {
          await execution;
        } finally {
          this.#executions.delete(jobId);
        }
      },
      {
        connection: this.#redis,
        prefix: this.#keys.bullPrefix,
        concurrency,
        autorun: false,
        lockDuration: o.lockMs ?? JOB_LOCK_MS,
        stalledInterval: (o.lockMs ?? JOB_LOCK_MS) / 2,
        // A job whose lock lapsed goes back in line once: taken when Redis restarted, it may never have started.
        // It never runs twice: a host starts a run only by moving its state from `queued` (executeFleetJob).
        maxStalledCount: 1,
        removeOnComplete: { count: 0 },
        removeOnFail: { count: 0 },
      },
    );
    worker.on('error', (err) => o.logger.debug('fleet worker error (retrying)', { kind, error: err.message }));
    worker.on('failed', (job, err) => o.logger.warn('fleet job failed', { kind, jobId: job?.id, error: err.message }));
    return worker;
  }

  /** Executes one job to its end (never throws). */
  async #execute(ctx: FleetRunContext, job: Omit<FleetJobInput, 'onExecution'>): Promise<void> {
    const { kind } = job;
    if (kind === 'run') this.#active++;
    try {
      await executeFleetJob(ctx, {
        ...job,
        ...(kind === 'terminal' ? { onExecution: (e: ExecutionHandle) => this.#holdTerminal(e) } : {}),
      });
    } finally {
      if (kind === 'run') this.#active--;
      void this.#registration.beat().catch(() => undefined);
    }
  }

  /** Keeps a terminal session in execution until it ends (drain ends those left). */
  #holdTerminal(e: ExecutionHandle): () => void {
    if (this.#draining) e.abort(drainingError());
    this.#terminals.add(e);
    return () => void this.#terminals.delete(e);
  }

  /** Both workers closed (`force`: without waiting for their jobs). */
  #closeWorkers(force: boolean): Promise<void> {
    return (this.#workerClosed ??= Promise.all([this.#worker.close(force), this.#terminalWorker.close(force)]).then(() => undefined));
  }

  /** Registers the host and starts taking runs. */
  static async start(o: FleetHostOptions): Promise<FleetHost> {
    const host = new FleetHost(o);
    await host.#registration.start();
    for (const w of [host.#worker, host.#terminalWorker]) {
      void w.run().catch((err: unknown) => o.logger.error('fleet worker stopped', { queue: w.name, error: String(err) }));
      await w.waitUntilReady();
    }
    o.logger.info('joined the fleet', { hostId: host.hostId, capacity: o.runner.stats().capacity, prefix: o.prefix });
    return host;
  }

  /** What the sandbox's `/healthz` says of its part in the fleet. */
  health(): HostFleetHealth {
    return {
      hostId: this.hostId,
      redis: { ok: this.#redis.status === 'ready', status: this.#redis.status },
      lastHeartbeatAt: this.#registration.lastBeatAt,
      runs: this.#active,
      draining: this.draining,
    };
  }

  /** True once {@link drain} (or leaving) began. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Runs this host is executing for the fleet. */
  get active(): number {
    return this.#active;
  }

  /**
   * Takes no new runs and waits for those in progress, at most `timeoutMs`.
   * Resolves true when they all finished; the caller then stops the sandbox
   * (which ends any that are left) and {@link dispose}s the host.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.#draining = true;
    // Bounded: with Redis away the registration just expires, and gateways see the host gone instead.
    await settleWithin(this.#registration.setDraining(), this.#stepMs);
    this.#o.logger.info('draining: no new runs; finishing those in progress; ending terminal sessions', { hostId: this.hostId, active: this.#active, terminals: this.#terminals.size });
    // A shell has no end of its own to wait for: it ends now, and opens again on another host.
    for (const e of this.#terminals) e.abort(drainingError());
    const closed = this.#closeWorkers(false);
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([closed.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
    clearTimeout(timer);
    if (!finished) this.#o.logger.warn('drain timed out; the runs still in progress end with the sandbox', { active: this.#active });
    return finished;
  }

  /**
   * Stops at once and leaves everything in Redis as a host killed with
   * SIGKILL would: the registration expires by itself, runs in flight stay
   * taken. For failover tests of the gateways' sweep.
   */
  async halt(): Promise<void> {
    this.#registration.halt();
    this.#closing ??= Promise.resolve();
    this.#redis.disconnect(false);
    await this.#tail.dispose();
    await this.#closeWorkers(true).catch(() => undefined);
  }

  /**
   * Leaves the fleet: removes the registration (gateways move what still
   * waits in this host's queue), stops the worker (without waiting for runs
   * unless {@link drain} was called) and closes the connections. Safe to call twice.
   */
  dispose(): Promise<void> {
    this.#draining = true;
    return (this.#closing ??= (async () => {
      await settleWithin(this.#registration.dispose(), this.#stepMs);
      await settleWithin(this.#closeWorkers(true), (LEAVE_TIMEOUT_MS / REDIS_STEP_TIMEOUT_MS) * this.#stepMs);
      await this.#tail.dispose();
      await closeRedis(this.#redis, this.#stepMs / 2);
    })());
  }
}
