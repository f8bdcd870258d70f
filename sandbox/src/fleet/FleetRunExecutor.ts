/**
 * Executes one run (or terminal session) a sandbox host took from its BullMQ queue: marks it
 * started, follows its control stream (stdin, kill, resize) from the first
 * entry, so stdin typed before the run started arrives in order, starts it on
 * this host and writes its events into the run's log stream (output merged,
 * at most the run's replay bytes kept; the content of files the run wrote
 * apart, for the gateway that follows it), and finally `end`, once. A run that
 * someone else ended meanwhile (stopped while queued, declared lost) is
 * killed here and its events dropped.
 * @module
 */
import type { Redis } from 'ioredis';
import { CodeCellError, FLEET_SCRIPTS, RUN_META, RunEndTracker, UNFINISHED_RUN_TTL_MS, controlEntrySchema, fleetJobSchema, fleetTerminalJobSchema, toCodeCellError } from '@codecell/protocol';
import type { ControlEntry, FleetKeys, RunEvent, TerminalSize } from '@codecell/protocol';
import { EventWriter, appendQueued, evalScript, finishRun } from '@codecell/redis-kit';
import type { RunEnd, RunLogTarget, StreamEntry, StreamTail } from '@codecell/redis-kit';
import type { Logger } from '@codecell/server-kit';
import { mergeOutput } from '../runs/mergeOutput.js';
import type { HostRun, HostRunner } from './ports.js';

/** What executing a run needs. */
export interface FleetRunContext {
  readonly redis: Redis;
  readonly keys: FleetKeys;
  readonly tail: StreamTail;
  readonly runner: HostRunner;
  readonly logger: Logger;
  readonly hostId: string;
  /** How long this host keeps a room's session VM (SESSION_IDLE_MS): the room's affinity lasts as long. */
  readonly sessionTtlMs: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A job in execution, as its host sees it (to end terminal sessions when it drains). */
export interface ExecutionHandle {
  /** Kills it; its log ends with `error` instead of how the program ended. */
  abort(error: CodeCellError): void;
}

/** Which job of which of the host's queues (see `FleetHost`). */
export interface FleetJobInput {
  readonly jobId: string;
  /** Its BullMQ data. */
  readonly data: unknown;
  /** A run (the run queue) or a terminal session (the terminal queue). */
  readonly kind: 'run' | 'terminal';
  /** Told the execution once it began (before the program starts); call the result when it ends. */
  readonly onExecution?: (e: ExecutionHandle) => () => void;
}

/** What one execution starts and where it writes. */
interface ExecutionSpec {
  readonly sessionId: string | undefined;
  /** A terminal session (its room lists it). */
  readonly terminal: boolean;
  readonly replayBytes: number;
  readonly retentionMs: number;
  readonly start: () => HostRun;
}

/** Runs the job `jobId` to its end. Never throws. */
export async function executeFleetJob(ctx: FleetRunContext, job: FleetJobInput): Promise<void> {
  const target: RunLogTarget = { redis: ctx.redis, keys: ctx.keys, jobId: job.jobId };
  const spec = specOf(ctx, job);
  if (spec === null) {
    ctx.logger.error(`a fleet job is not a ${job.kind === 'run' ? 'run' : 'terminal session'} of this protocol version`, { jobId: job.jobId });
    await endWithError(ctx, target, { error: new CodeCellError('invalid_request', 'the job was written by an incompatible gateway version'), retentionMs: 60_000 });
    return;
  }
  const moved = await evalScript(ctx.redis, { script: FLEET_SCRIPTS.moveState, keys: [ctx.keys.runMeta(job.jobId)], args: ['queued', 'starting', ctx.hostId] });
  // Ended before any host took it (stopped while queued, or its log expired).
  if (moved !== 1) return;
  const execution = new Execution(ctx, target, spec);
  const done = job.onExecution?.(execution);
  try {
    await execution.run();
  } finally {
    done?.();
  }
}

function specOf(ctx: FleetRunContext, job: FleetJobInput): ExecutionSpec | null {
  if (job.kind === 'run') {
    const parsed = fleetJobSchema.safeParse(job.data);
    if (!parsed.success) return null;
    const { request, replayBytes, retentionMs } = parsed.data;
    return { sessionId: request.sessionId, terminal: false, replayBytes, retentionMs, start: () => ctx.runner.start(request) };
  }
  const parsed = fleetTerminalJobSchema.safeParse(job.data);
  if (!parsed.success) return null;
  const { terminal, replayBytes, retentionMs } = parsed.data;
  return { sessionId: terminal.sessionId, terminal: true, replayBytes, retentionMs, start: () => ctx.runner.startTerminal(terminal) };
}

async function endWithError(ctx: FleetRunContext, target: RunLogTarget, o: { error: unknown; retentionMs: number; sessionId?: string | undefined }): Promise<void> {
  const e = toCodeCellError(o.error);
  await finishRun(target, {
    end: { status: e.code, code: null, message: e.message },
    error: { type: 'error', code: e.code, message: e.message },
    finishedAt: (ctx.now ?? Date.now)(),
    retentionMs: o.retentionMs,
    sessionId: o.sessionId,
  });
}

/** One run (or terminal session) on this host. */
class Execution implements ExecutionHandle {
  readonly #ctx: FleetRunContext;
  readonly #t: RunLogTarget;
  readonly #job: ExecutionSpec;
  /** Why this host ended it (draining), instead of how the program ended. */
  #abortedWith: CodeCellError | null = null;
  readonly #writer: EventWriter;
  readonly #tracker = new RunEndTracker();
  #run: HostRun | null = null;
  #pendingStdin: Array<{ data: string; eof: boolean }> = [];
  #pendingKill = false;
  /** The latest resize that came before the run was started here. */
  #pendingSize: TerminalSize | null = null;
  /** Someone else ended the run: stop writing, kill it. */
  #endedElsewhere = false;
  #buffer: RunEvent[] = [];
  #flushing: Promise<void> | null = null;
  #stopControl: () => void = () => undefined;
  /** While it runs (a shell, for days maybe): keeps its facts in Redis and the room's affinity to this host. */
  #keepAlive: NodeJS.Timeout | null = null;

  constructor(ctx: FleetRunContext, target: RunLogTarget, job: ExecutionSpec) {
    this.#ctx = ctx;
    this.#t = target;
    this.#job = job;
    this.#writer = new EventWriter(target, job.replayBytes);
  }

  async run(): Promise<void> {
    const { jobId } = this.#t;
    const sessionId = this.#job.sessionId;
    try {
      await appendQueued(this.#t, 0);
      this.#stopControl = this.#ctx.tail.follow(this.#ctx.keys.runControl(jobId), '0-0', (entries) => this.#onControl(entries));
      try {
        this.#run = this.#job.start();
      } catch (err) {
        await endWithError(this.#ctx, this.#t, { error: err, retentionMs: this.#job.retentionMs, sessionId });
        return;
      }
      for (const s of this.#pendingStdin.splice(0)) this.#deliverStdin(s);
      if (this.#pendingSize) this.#resize(this.#pendingSize);
      if (this.#pendingKill) this.#kill();
      for await (const event of this.#run.events) this.#push(event);
      await this.#flush();
      if (this.#endedElsewhere) return;
      if (this.#abortedWith) {
        await endWithError(this.#ctx, this.#t, { error: this.#abortedWith, retentionMs: this.#job.retentionMs, sessionId });
        return;
      }
      const end = this.#tracker.afterStream() ?? { status: 'internal_error', code: null, message: 'the run ended without an exit report', cpuMs: null, wallMs: null };
      const runEnd: RunEnd = { status: end.status, code: end.code, message: end.message };
      await finishRun(this.#t, { end: runEnd, finishedAt: (this.#ctx.now ?? Date.now)(), retentionMs: this.#job.retentionMs, sessionId, cpuMs: end.cpuMs, wallMs: end.wallMs });
    } catch (err) {
      this.#ctx.logger.error('fleet run failed on this host', { jobId, error: String(err) });
      if (this.#run) this.#kill();
      await endWithError(this.#ctx, this.#t, { error: err, retentionMs: this.#job.retentionMs, sessionId }).catch(() => undefined);
    } finally {
      this.#stopControl();
      if (this.#keepAlive) {
        clearInterval(this.#keepAlive);
        // The VM stays here SESSION_IDLE_MS after its last run: so does the room's affinity.
        await this.#claimSession().catch(() => undefined);
      }
    }
  }

  /** One keep-alive tick: the run's facts (and a session's entry in its room) stay, and so does the room's affinity. */
  async #refresh(): Promise<void> {
    const { redis, keys, jobId } = this.#t;
    const sessionId = this.#job.sessionId;
    const multi = redis.multi().pexpire(keys.runMeta(jobId), UNFINISHED_RUN_TTL_MS);
    if (this.#job.terminal && sessionId !== undefined) multi.pexpire(keys.roomTerminals(sessionId), UNFINISHED_RUN_TTL_MS);
    await multi.exec();
    await this.#claimSession();
  }

  /**
   * The room's VM lives here: its next runs (and terminal sessions) should
   * come here too. Once started here the room is this host's; afterwards
   * (while it runs, and SESSION_IDLE_MS after) the affinity is only
   * extended, if no other host took the room meanwhile (two of its sessions
   * on two hosts would otherwise take it from each other in turn).
   */
  async #claimSession(o: { readonly extend: boolean } = { extend: true }): Promise<void> {
    const sessionId = this.#job.sessionId;
    if (sessionId === undefined) return;
    const key = this.#t.keys.session(sessionId);
    if (!o.extend) await this.#t.redis.set(key, this.#ctx.hostId, 'PX', this.#ctx.sessionTtlMs);
    else await evalScript(this.#t.redis, { script: FLEET_SCRIPTS.extendSession, keys: [key], args: [this.#ctx.hostId, this.#ctx.sessionTtlMs] });
  }

  abort(error: CodeCellError): void {
    this.#abortedWith ??= error;
    if (this.#run) this.#kill();
    else this.#pendingKill = true;
  }

  #push(event: RunEvent): void {
    if (this.#endedElsewhere) return;
    this.#tracker.observe(event);
    this.#buffer.push(event);
    this.#flushing ??= this.#flushLoop();
  }

  /** Writes what is buffered, in order, one batch at a time. */
  async #flushLoop(): Promise<void> {
    try {
      while (this.#buffer.length > 0 && !this.#endedElsewhere) {
        const batch = mergeOutput(this.#buffer.splice(0));
        if (batch.some((e) => e.type === 'start')) await this.#markRunning();
        if (!(await this.#writer.append(batch))) {
          this.#endedElsewhere = true;
          this.#ctx.logger.info('the run was ended elsewhere (stopped, or declared lost); killing it here', { jobId: this.#t.jobId });
          this.#kill();
        }
      }
    } finally {
      this.#flushing = null;
    }
  }

  async #flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  async #markRunning(): Promise<void> {
    const { redis, keys, jobId } = this.#t;
    await evalScript(redis, { script: FLEET_SCRIPTS.moveState, keys: [keys.runMeta(jobId)], args: ['starting', 'running', this.#ctx.hostId] });
    await this.#claimSession({ extend: false });
    if (this.#keepAlive === null) {
      this.#keepAlive = setInterval(() => void this.#refresh().catch(() => undefined), Math.max(1_000, this.#ctx.sessionTtlMs / 2));
      this.#keepAlive.unref();
    }
  }

  #onControl(entries: readonly StreamEntry[]): boolean {
    for (const e of entries) {
      const entry = parseControl(e);
      if (entry === null) continue;
      if (entry.op === 'stdin') {
        const chunk = { data: entry.data, eof: entry.eof };
        if (this.#run) this.#deliverStdin(chunk);
        else this.#pendingStdin.push(chunk);
      } else if (entry.op === 'kill') {
        if (this.#run) this.#kill();
        else this.#pendingKill = true;
      } else {
        const size = { cols: entry.cols, rows: entry.rows };
        if (this.#run) this.#resize(size);
        else this.#pendingSize = size;
      }
    }
    return true;
  }

  #deliverStdin(chunk: { data: string; eof: boolean }): void {
    try {
      this.#run?.sendStdin(chunk.data, chunk.eof);
    } catch (err) {
      this.#ctx.logger.debug('stdin not delivered', { jobId: this.#t.jobId, error: String(err) });
    }
    const { redis, keys, jobId } = this.#t;
    redis.hincrby(keys.runMeta(jobId), RUN_META.stdinPending, -Buffer.byteLength(chunk.data)).catch(() => undefined);
  }

  #resize(size: TerminalSize): void {
    try {
      this.#run?.resize(size);
    } catch (err) {
      // Finished meanwhile (the gateway checked that it has a terminal).
      this.#ctx.logger.debug('resize not delivered', { jobId: this.#t.jobId, error: String(err) });
    }
  }

  #kill(): void {
    try {
      this.#run?.kill();
    } catch {
      // it finished meanwhile
    }
  }
}

function parseControl(e: StreamEntry): ControlEntry | null {
  const j = e.fields['j'];
  if (j === undefined) return null;
  try {
    const parsed = controlEntrySchema.safeParse(JSON.parse(j));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
