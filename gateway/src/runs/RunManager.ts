/**
 * The gateway's run core: a FIFO queue in front of the sandbox with a
 * concurrency limit, one {@link Run} per gateway jobId, stdin, resizes, stop,
 * and retention of finished runs. Terminal sessions (a room's shell or REPL)
 * are Runs too, started at once beside the queue (they hold no run slot). Knows nothing of HTTP, WebSocket or tRPC: the
 * sandbox is reached through {@link SandboxApi}, subscribers are callbacks.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { CodeCellError, roomRunStatusSchema } from '@codecell/protocol';
import type { FileEvent, RoomRunRecord, RoomRunStatus, RunCodeOutput, SendStdinInput, StopRunInput, TerminalRequest, TerminalSize } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { SandboxApi } from '../sandboxClient.js';
import { RetainedRuns } from './RetainedRuns.js';
import { Run } from './Run.js';
import type { RunEnd, RunSubscriber, RunSubscription } from './Run.js';
import { RunQueue } from './RunQueue.js';
import { killRun, relayRun } from './relay.js';
import { buildRunRequest } from './runRequest.js';
import type { RunDefaults, RunMaxima } from './runRequest.js';
import type { OnRunFile, OnRunUpdate, ParsedRunCodeInput, RunOwner } from './types.js';

/** Stdin that may wait for a run to start, bytes. */
export const MAX_PENDING_STDIN_BYTES = 1024 * 1024;

/** Options of {@link RunManager}; defaults match the gateway's config. */
export interface RunManagerOptions {
  readonly sandbox: SandboxApi;
  readonly logger: Logger;
  /** Limits each run asks for (RUN_TIMEOUT_MS, MAX_MEM_MB, MAX_VCPUS). */
  readonly defaults: RunDefaults;
  /** The most a run may ask for (MAX_RUN_TIMEOUT_MS, MAX_MEM_MB, MAX_VCPUS); beyond: limit_exceeded. @default no check */
  readonly maxima?: RunMaxima;
  /** Runs at the sandbox at once. @default 4 */
  readonly maxConcurrent?: number;
  /** Runs waiting; more fail with capacity_exceeded. @default 50 */
  readonly maxQueued?: number;
  /** Bytes of requests the queue may hold; more fail with capacity_exceeded (MAX_QUEUED_BYTES). @default 64 MiB */
  readonly maxQueuedBytes?: number;
  /** Replay bytes all finished runs may keep together; the oldest are forgotten first (MAX_RETAINED_REPLAY_BYTES). @default 64 MiB */
  readonly maxRetainedReplayBytes?: number;
  /** Output bytes kept per run for replay. @default 1 MiB */
  readonly replayBytes?: number;
  /** How long a finished run stays subscribable, ms. @default 5 min */
  readonly retentionMs?: number;
  /** Finished runs kept at most (oldest go first), bounding memory. @default 100 */
  readonly maxRetainedRuns?: number;
  /** Makes gateway job ids. @default 16 random base64url characters */
  readonly newJobId?: () => string;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
  /** Told when a run of a room is queued, starts running and ends (e.g. to record it in the room). */
  readonly onRunUpdate?: OnRunUpdate;
  /** Told about each file a run of a room wrote (to put it into the room). */
  readonly onRunFile?: OnRunFile;
  /** Told when a terminal session of a room starts (`live`) and ends, so the files it writes can go into the room. Must not throw. */
  readonly onTerminal?: (o: { readonly roomId: string; readonly jobId: string; readonly live: boolean }) => void;
  /** Told once when any run ends, with its owner and CPU time (quotas). Must not throw. */
  readonly onRunEnd?: (run: Run) => void;
}

/** Counts for health and tests. */
export interface RunManagerStats {
  readonly queued: number;
  readonly active: number;
  readonly retained: number;
  /** Bytes of the requests waiting in the queue. */
  readonly queuedBytes: number;
  /** Bytes of requests held by runs of any state (only queued or starting runs hold one). */
  readonly heldRequestBytes: number;
  /** Replay output held by finished runs. */
  readonly retainedReplayBytes: number;
}

/** Queues, runs and remembers runs. Dispose it to abort everything. */
export class RunManager {
  readonly #o: Required<Omit<RunManagerOptions, 'sandbox' | 'logger' | 'defaults' | 'onRunUpdate' | 'onRunFile' | 'onTerminal' | 'onRunEnd' | 'maxima'>> & RunManagerOptions;
  readonly #runs = new Map<string, Run>();
  readonly #queue = new RunQueue();
  readonly #active = new Map<Run, Promise<void>>();
  /** Terminal sessions running (they take no slot of maxConcurrent). */
  readonly #terminals = new Map<Run, Promise<void>>();
  readonly #retained: RetainedRuns;
  /** Runs whose `queued` record was given to onRunUpdate. */
  readonly #announced = new WeakSet<Run>();
  #disposed = false;

  constructor(options: RunManagerOptions) {
    this.#o = {
      maxConcurrent: 4,
      maxQueued: 50,
      maxQueuedBytes: 64 * 1024 * 1024,
      maxRetainedReplayBytes: 64 * 1024 * 1024,
      replayBytes: 1024 * 1024,
      retentionMs: 5 * 60_000,
      maxRetainedRuns: 100,
      newJobId: () => randomBytes(12).toString('base64url'),
      now: Date.now,
      ...options,
    };
    this.#retained = new RetainedRuns({
      retentionMs: this.#o.retentionMs,
      maxRuns: this.#o.maxRetainedRuns,
      maxReplayBytes: this.#o.maxRetainedReplayBytes,
      onForget: (jobId) => this.#runs.delete(jobId),
    });
  }

  /**
   * Queues a run; it starts at once when a slot is free. `owner` is who pressed
   * Run (their name is the room's `startedBy`; without one, `input.startedBy`).
   * @throws CodeCellError invalid_request (entry not in files), limit_exceeded, capacity_exceeded (queue full)
   */
  submit(input: ParsedRunCodeInput, owner: RunOwner | null = null): RunCodeOutput {
    if (this.#disposed) throw new CodeCellError('sandbox_unavailable', 'the gateway is shutting down; try again in a moment');
    const request = buildRunRequest(input, this.#o.defaults, this.#o.maxima);
    const run = new Run({
      jobId: this.#o.newJobId(),
      request,
      startedBy: owner?.displayName ?? input.startedBy ?? null,
      owner,
      submittedAt: this.#o.now(),
      replayBytes: this.#o.replayBytes,
      logger: this.#o.logger,
    });
    const startNow = this.#active.size < this.#o.maxConcurrent && this.#queue.length === 0;
    if (!startNow && this.#queue.length >= this.#o.maxQueued) {
      throw new CodeCellError(
        'capacity_exceeded',
        `${this.#queue.length} runs are already waiting (MAX_QUEUED_RUNS=${this.#o.maxQueued}); try again when one finishes`,
      );
    }
    if (!startNow && this.#queue.bytes + run.requestBytes > this.#o.maxQueuedBytes) {
      throw new CodeCellError(
        'capacity_exceeded',
        `the runs waiting already hold ${this.#queue.bytes} bytes of files and stdin (MAX_QUEUED_BYTES=${this.#o.maxQueuedBytes}); try again when one starts`,
      );
    }
    this.#runs.set(run.jobId, run);
    this.#queue.push(run);
    this.#pump();
    // A run that waits is recorded now; one that started is recorded once its request left (see #announce).
    if (run.state === 'queued') this.#announce(run);
    const position = run.state === 'queued' ? this.#queue.positionOf(run) : 0;
    this.#o.logger.debug('run submitted', { jobId: run.jobId, position, sessionId: request.sessionId });
    return { jobId: run.jobId, position };
  }

  /**
   * Starts a terminal session (shell, REPL) in its room's VM at once: it
   * waits for no slot and is not recorded in the room's runs.
   */
  startTerminal(request: TerminalRequest, owner: RunOwner | null): Run {
    if (this.#disposed) throw new CodeCellError('sandbox_unavailable', 'the gateway is shutting down; try again in a moment');
    const run = new Run({
      jobId: this.#o.newJobId(),
      request,
      startedBy: owner?.displayName ?? null,
      owner,
      submittedAt: this.#o.now(),
      replayBytes: this.#o.replayBytes,
      logger: this.#o.logger,
    });
    this.#runs.set(run.jobId, run);
    this.#tellTerminal(run, true);
    const done = this.#execute(run).finally(() => this.#terminals.delete(run));
    this.#terminals.set(run, done);
    return run;
  }

  /**
   * Resizes a TTY run's or terminal session's terminal (forwarded once it runs).
   * @throws CodeCellError not_found, run_finished, not_a_terminal (from the sandbox)
   */
  async resize(jobId: string, size: TerminalSize, signal?: AbortSignal): Promise<void> {
    const run = this.#require(jobId);
    if (run.state === 'finished') throw new CodeCellError('run_finished', `run ${run.jobId} has finished`);
    const waitForIt = run.state === 'running';
    const forwarded = run.enqueueInput((sandboxJobId) => this.#o.sandbox.resize(sandboxJobId, size, waitForIt ? signal : undefined));
    if (waitForIt) return forwarded;
    forwarded.catch((err: unknown) => this.#o.logger.debug('a resize before the run started was not delivered', { jobId, error: String(err) }));
    return undefined;
  }

  /** The run with this gateway jobId, while it is retained. */
  get(jobId: string): Run | undefined {
    return this.#runs.get(jobId);
  }

  /** Subscribes to a run; undefined when the jobId is unknown or expired. */
  subscribe(jobId: string, subscriber: RunSubscriber): RunSubscription | undefined {
    return this.#runs.get(jobId)?.subscribe(subscriber);
  }

  /**
   * Sends stdin. Before the run starts it is buffered (and this resolves at
   * once); afterwards it resolves when the sandbox took it.
   * @throws CodeCellError not_found, run_finished, stdin_closed, payload_too_large
   */
  async sendStdin(input: SendStdinInput, signal?: AbortSignal): Promise<void> {
    const run = this.#require(input.jobId);
    if (run.state === 'finished') {
      throw new CodeCellError('run_finished', `run ${run.jobId} has finished; stdin can only be sent while it runs`);
    }
    if (run.stdinClosed) throw new CodeCellError('stdin_closed', `stdin of run ${run.jobId} was closed (eof); start a new run to send more`);
    const bytes = Buffer.byteLength(input.data);
    if (run.pendingStdinBytes + bytes > MAX_PENDING_STDIN_BYTES) {
      throw new CodeCellError('payload_too_large', `run ${run.jobId} already has ${run.pendingStdinBytes} bytes of stdin waiting; the limit is ${MAX_PENDING_STDIN_BYTES}`);
    }
    const eof = input.eof ?? false;
    const waitForIt = run.state === 'running';
    // A buffered chunk outlives the caller's request, so it must not use the caller's signal.
    const forwarded = run.enqueueStdin({ bytes, eof }, (sandboxJobId) =>
      this.#o.sandbox.sendStdin(sandboxJobId, { data: input.data, ...(eof ? { eof } : {}) }, waitForIt ? signal : undefined),
    );
    if (waitForIt) return forwarded;
    forwarded.catch((err: unknown) => this.#o.logger.warn('buffered stdin was not delivered', { jobId: run.jobId, error: String(err) }));
    return undefined;
  }

  /**
   * Stops a run: a queued run is dropped, a running one killed by the sandbox.
   * Stopping a finished run does nothing.
   * @throws CodeCellError not_found, or the sandbox's error when the kill fails
   */
  async stop(input: StopRunInput, signal?: AbortSignal): Promise<void> {
    const run = this.#require(input.jobId);
    switch (run.state) {
      case 'finished':
        return;
      case 'queued': {
        this.#queue.remove(run);
        this.#finish(run, { status: 'killed', code: null, message: 'stopped before it started' });
        this.#updatePositions();
        return;
      }
      case 'starting':
        run.killRequested = true;
        return;
      case 'running':
        await killRun(run, this.#o.sandbox, signal);
        return;
    }
  }

  /** Stops every queued and running run of a room (it is being deleted). */
  async stopRoom(roomId: string): Promise<void> {
    const runs = [...this.#runs.values()].filter((r) => r.sessionId === roomId && r.state !== 'finished');
    await Promise.allSettled(runs.map((r) => this.stop({ jobId: r.jobId })));
  }

  /** Queue and run counts, and the memory they hold. */
  stats(): RunManagerStats {
    let held = 0;
    for (const r of this.#runs.values()) if (r.request !== null) held += r.requestBytes;
    return {
      queued: this.#queue.length,
      active: this.#active.size,
      retained: this.#retained.size,
      queuedBytes: this.#queue.bytes,
      heldRequestBytes: held,
      retainedReplayBytes: this.#retained.replayBytes,
    };
  }

  /** Ends queued runs, aborts running ones (the sandbox kills them) and forgets everything. Safe to call twice. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    const shutdown: RunEnd = { status: 'killed', code: null, message: 'the gateway is shutting down' };
    for (const run of this.#queue.drain()) this.#finish(run, shutdown);
    for (const run of [...this.#active.keys(), ...this.#terminals.keys()]) run.abort.abort(new CodeCellError('sandbox_unavailable', 'the gateway is shutting down'));
    await Promise.allSettled([...this.#active.values(), ...this.#terminals.values()]);
    this.#retained.clear();
    this.#runs.clear();
  }

  #require(jobId: string): Run {
    const run = this.#runs.get(jobId);
    if (!run) throw new CodeCellError('not_found', `no run ${jobId}: it never existed or finished more than ${Math.round(this.#o.retentionMs / 1000)} s ago`);
    return run;
  }

  #pump(): void {
    while (!this.#disposed && this.#active.size < this.#o.maxConcurrent) {
      const busy = new Set([...this.#active.keys()].map((r) => r.sessionId).filter((id) => id !== undefined));
      const run = this.#queue.takeNext(busy);
      if (!run) break;
      run.setPosition(0);
      const done = this.#execute(run).finally(() => {
        this.#active.delete(run);
        this.#pump();
      });
      this.#active.set(run, done);
    }
    this.#updatePositions();
  }

  #updatePositions(): void {
    this.#queue.forEachPosition((run, position) => run.setPosition(position));
  }

  #execute(run: Run): Promise<void> {
    return relayRun({
      run,
      sandbox: this.#o.sandbox,
      logger: this.#o.logger,
      finish: (r, end) => this.#finish(r, end),
      onSent: (r) => this.#announce(r),
      onStarted: (r) => this.#notify(r, 'running'),
      onFile: (r, event) => this.#file(r, event),
    });
  }

  #finish(run: Run, end: RunEnd): void {
    if (run.state === 'finished') return;
    run.finish(end, this.#o.now());
    this.#o.logger.debug('run finished', { jobId: run.jobId, ...end });
    // S4 statuses are exit statuses or error codes; anything else would be a bug upstream.
    this.#notify(run, roomRunStatusSchema.catch('internal_error').parse(end.status));
    if (run.program !== null) this.#tellTerminal(run, false);
    try {
      if (run.program === null) this.#o.onRunEnd?.(run);
    } catch (err) {
      this.#o.logger.error('onRunEnd failed', { jobId: run.jobId, error: String(err) });
    }
    if (!this.#disposed) this.#retained.add(run);
  }

  /**
   * A file the run wrote: its content goes to the room (onRunFile); watchers
   * of the stream get the event without it (they read the file in the room),
   * so replay buffers hold names and sizes, not files.
   */
  #file(run: Run, event: FileEvent): void {
    run.pushEvent({ ...event, content: '' });
    const roomId = run.sessionId;
    if (!this.#o.onRunFile || roomId === undefined) return;
    try {
      this.#o.onRunFile({ roomId, jobId: run.jobId, file: event });
    } catch (err) {
      this.#o.logger.error('onRunFile failed', { jobId: run.jobId, roomId, error: String(err) });
    }
  }

  /** Tells onTerminal that a terminal session of a room started or ended. Never throws. */
  #tellTerminal(run: Run, live: boolean): void {
    if (run.sessionId === undefined) return;
    try {
      this.#o.onTerminal?.({ roomId: run.sessionId, jobId: run.jobId, live });
    } catch (err) {
      this.#o.logger.error('onTerminal failed', { jobId: run.jobId, error: String(err) });
    }
  }

  /**
   * Tells onRunUpdate that the run is queued, once. A run that starts at once
   * is told after its request left for the sandbox: recording it in its room
   * (a Yjs transaction, a SQLite write, maybe loading the room) then cannot
   * delay the request.
   */
  #announce(run: Run): void {
    if (this.#announced.has(run)) return;
    this.#announced.add(run);
    this.#notify(run, 'queued');
  }

  /** Tells onRunUpdate about a run of a room. Never throws. */
  #notify(run: Run, status: RoomRunStatus): void {
    const roomId = run.sessionId;
    // A room records its runs; its terminal sessions are not runs.
    if (!this.#o.onRunUpdate || roomId === undefined || run.program !== null) return;
    const record: RoomRunRecord = {
      jobId: run.jobId,
      startedBy: run.startedBy,
      startedAt: run.submittedAt,
      status,
      endedAt: run.finishedAt,
      wallMs: run.wallMs,
      exitCode: run.end?.code ?? null,
    };
    try {
      this.#o.onRunUpdate({ roomId, record });
    } catch (err) {
      this.#o.logger.error('onRunUpdate failed', { jobId: run.jobId, roomId, error: String(err) });
    }
  }

}
