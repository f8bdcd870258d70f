/**
 * The in-process run backend (the embedded default): a FIFO queue, the runs'
 * logs with replay and retention, and a dispatcher that feeds ONE sandbox over
 * {@link SandboxApi} with at most as many runs as the sandbox executes at once
 * (its MAX_CONCURRENT_RUNS, read from its `GET /healthz`): the sandbox admits
 * runs into execution, this queue admits them into the line. One run per room
 * at a time, so a room that queued several runs does not take every slot.
 * Terminal sessions (issue 12) start at once beside the queue.
 * @module
 */
import { CodeCellError } from '@codecell/protocol';
import type { FileEvent, RunEvent, StdinRequest, TerminalRequest, TerminalSize } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import { MAX_PENDING_STDIN_BYTES } from '../ports.js';
import type { Enqueued, QueuedRun, RunBackend, RunControlPort, RunEnd, RunFacts, RunInfo, RunLogPort, RunQueuePort, RunStats, RunSubscriber, RunSubscription, SandboxApi, TerminalPort } from '../ports.js';
import { killRun, relayRun } from '../relay.js';
import { RetainedRuns } from '../RetainedRuns.js';
import { Run } from '../Run.js';
import { RunQueue } from '../RunQueue.js';
import { LocalTerminals } from './LocalTerminals.js';
import { SandboxSlots } from './SandboxSlots.js';

export { DEFAULT_SANDBOX_SLOTS, SLOTS_REFRESH_MS } from './SandboxSlots.js';

/** Options of {@link LocalRuns}. */
export interface LocalRunsOptions {
  readonly sandbox: SandboxApi;
  readonly logger: Logger;
  /** Runs sent to the sandbox at once. @default what the sandbox's health reports (limits.maxConcurrentRuns), DEFAULT_SANDBOX_SLOTS until it answers */
  readonly slots?: number;
  /** Runs waiting; more fail with capacity_exceeded (MAX_QUEUED_RUNS). @default 50 */
  readonly maxQueued?: number;
  /** Bytes of requests the queue may hold (MAX_QUEUED_BYTES). @default 64 MiB */
  readonly maxQueuedBytes?: number;
  /** Replay bytes all finished runs keep together (MAX_RETAINED_REPLAY_BYTES). @default 64 MiB */
  readonly maxRetainedReplayBytes?: number;
  /** Output bytes kept per run for replay (STREAM_REPLAY_BYTES). @default 1 MiB */
  readonly replayBytes?: number;
  /** How long a finished run stays subscribable, ms (RUN_RETENTION_MS). @default 5 min */
  readonly retentionMs?: number;
  /** Finished runs kept at most (oldest go first). @default 100 */
  readonly maxRetainedRuns?: number;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
}

type Defaults = Required<Omit<LocalRunsOptions, 'sandbox' | 'logger' | 'slots'>>;

/** Queue, logs and control of runs in this process. Dispose it to abort everything. */
export class LocalRuns implements RunBackend, RunQueuePort, RunLogPort, RunControlPort {
  readonly #o: Defaults & LocalRunsOptions;
  readonly #runs = new Map<string, Run>();
  readonly #queue = new RunQueue();
  /** Runs at the sandbox, and terminal sessions (which hold no slot). */
  readonly #active = new Map<Run, Promise<void>>();
  readonly #terminals = new Map<Run, Promise<void>>();
  /** Told when a starting run's request left for the sandbox (what `enqueue` waits for). */
  readonly #sent = new Map<Run, () => void>();
  readonly #retained: RetainedRuns;
  readonly #slots: SandboxSlots;
  readonly #rooms: LocalTerminals;
  #disposed = false;

  constructor(options: LocalRunsOptions) {
    this.#o = {
      maxQueued: 50,
      maxQueuedBytes: 64 * 1024 * 1024,
      maxRetainedReplayBytes: 64 * 1024 * 1024,
      replayBytes: 1024 * 1024,
      retentionMs: 5 * 60_000,
      maxRetainedRuns: 100,
      now: Date.now,
      ...options,
    };
    this.#slots = new SandboxSlots({ sandbox: options.sandbox, logger: options.logger, now: this.#o.now, fixed: options.slots, onChange: () => this.#pump() });
    this.#retained = new RetainedRuns({
      retentionMs: this.#o.retentionMs,
      maxRuns: this.#o.maxRetainedRuns,
      maxReplayBytes: this.#o.maxRetainedReplayBytes,
      onForget: (jobId) => this.#runs.delete(jobId),
    });
    this.#rooms = new LocalTerminals({ start: (o) => this.#startTerminal(o), logger: options.logger });
  }

  get queue(): RunQueuePort {
    return this;
  }
  get log(): RunLogPort {
    return this;
  }
  get control(): RunControlPort {
    return this;
  }
  get terminals(): TerminalPort {
    return this.#rooms;
  }

  /** Runs the sandbox executes at once, as last learned. */
  get slots(): number {
    return this.#slots.count;
  }

  /** The run with this jobId while it is retained (tests, diagnostics). */
  get(jobId: string): Run | undefined {
    return this.#runs.get(jobId);
  }

  // ---- log ----

  async open(facts: RunFacts): Promise<void> {
    this.#runs.set(facts.jobId, new Run({ facts, replayBytes: this.#o.replayBytes, logger: this.#o.logger }));
  }

  async discard(jobId: string): Promise<void> {
    this.#runs.delete(jobId);
  }

  async finish(jobId: string, end: RunEnd, error?: Extract<RunEvent, { type: 'error' }>): Promise<boolean> {
    const run = this.#runs.get(jobId);
    if (!run || run.state === 'finished') return false;
    if (this.#queue.remove(run)) this.#updatePositions();
    if (error) run.pushEvent(error);
    this.#finish(run, end);
    return true;
  }

  async info(jobId: string): Promise<RunInfo | undefined> {
    const r = this.#runs.get(jobId);
    return r && { jobId: r.jobId, sessionId: r.sessionId, startedBy: r.startedBy, owner: r.owner, submittedAt: r.submittedAt, state: r.state, end: r.end };
  }

  async subscribe(jobId: string, subscriber: RunSubscriber): Promise<RunSubscription | undefined> {
    return this.#runs.get(jobId)?.subscribe(subscriber);
  }

  async unfinished(roomId: string): Promise<string[]> {
    return [...this.#runs.values()].filter((r) => r.sessionId === roomId && r.state !== 'finished').map((r) => r.jobId);
  }

  async takeFile(jobId: string, seq: number): Promise<FileEvent | undefined> {
    return this.#runs.get(jobId)?.takeFile(seq);
  }

  // ---- queue ----

  async enqueue({ facts, request }: QueuedRun): Promise<Enqueued> {
    if (this.#disposed) throw new CodeCellError('sandbox_unavailable', 'the gateway is shutting down; try again in a moment');
    const run = this.#runs.get(facts.jobId);
    if (!run) throw new Error(`run ${facts.jobId} has no log`);
    run.attachRequest(request);
    const startNow = this.#active.size < this.#slots.count && this.#queue.length === 0;
    if (!startNow && this.#queue.length >= this.#o.maxQueued) {
      throw new CodeCellError('capacity_exceeded', `${this.#queue.length} runs are already waiting (MAX_QUEUED_RUNS=${this.#o.maxQueued}); try again when one finishes`);
    }
    if (!startNow && this.#queue.bytes + run.requestBytes > this.#o.maxQueuedBytes) {
      throw new CodeCellError(
        'capacity_exceeded',
        `the runs waiting already hold ${this.#queue.bytes} bytes of files and stdin (MAX_QUEUED_BYTES=${this.#o.maxQueuedBytes}); try again when one starts`,
      );
    }
    const sent = new Promise<void>((resolve) => this.#sent.set(run, resolve));
    this.#queue.push(run);
    this.#pump();
    if (run.state !== 'queued') return { position: 0, sent };
    this.#sent.get(run)?.();
    this.#sent.delete(run);
    return { position: this.#queue.positionOf(run), sent };
  }

  async cancel(jobId: string): Promise<boolean> {
    const run = this.#runs.get(jobId);
    if (!run || !this.#queue.remove(run)) return false;
    this.#updatePositions();
    return true;
  }

  async depth(): Promise<number> {
    return this.#queue.length;
  }

  // ---- terminal sessions ----

  #startTerminal({ facts, request }: { readonly facts: RunFacts; readonly request: TerminalRequest }): Run {
    if (this.#disposed) throw new CodeCellError('sandbox_unavailable', 'the gateway is shutting down; try again in a moment');
    const run = new Run({ facts, replayBytes: this.#o.replayBytes, logger: this.#o.logger });
    run.attachRequest(request);
    this.#runs.set(run.jobId, run);
    const done = relayRun({ run, sandbox: this.#o.sandbox, logger: this.#o.logger, finish: (r, end) => this.#finish(r, end), onSent: () => undefined }).then(
      () => void this.#terminals.delete(run),
    );
    this.#terminals.set(run, done);
    return run;
  }

  // ---- control ----

  async sendStdin(jobId: string, chunk: StdinRequest, signal?: AbortSignal): Promise<void> {
    const run = this.#require(jobId);
    if (run.state === 'finished') throw new CodeCellError('run_finished', `run ${run.jobId} has finished; stdin can only be sent while it runs`);
    if (run.stdinClosed) throw new CodeCellError('stdin_closed', `stdin of run ${run.jobId} was closed (eof); start a new run to send more`);
    const bytes = Buffer.byteLength(chunk.data);
    if (run.pendingStdinBytes + bytes > MAX_PENDING_STDIN_BYTES) {
      throw new CodeCellError('payload_too_large', `run ${run.jobId} already has ${run.pendingStdinBytes} bytes of stdin waiting; the limit is ${MAX_PENDING_STDIN_BYTES}`);
    }
    const eof = chunk.eof ?? false;
    const waitForIt = run.state === 'running';
    // A buffered chunk outlives the caller's request, so it must not use the caller's signal.
    const forwarded = run.enqueueStdin({ bytes, eof }, (sandboxJobId) =>
      this.#o.sandbox.sendStdin(sandboxJobId, { data: chunk.data, ...(eof ? { eof } : {}) }, waitForIt ? signal : undefined),
    );
    if (waitForIt) return forwarded;
    forwarded.catch((err: unknown) => this.#o.logger.warn('buffered stdin was not delivered', { jobId: run.jobId, error: String(err) }));
    return undefined;
  }

  async resize(jobId: string, size: TerminalSize, signal?: AbortSignal): Promise<void> {
    const run = this.#require(jobId);
    if (run.state === 'finished') throw new CodeCellError('run_finished', `run ${run.jobId} has finished`);
    const waitForIt = run.state === 'running';
    const forwarded = run.enqueueInput((sandboxJobId) => this.#o.sandbox.resize(sandboxJobId, size, waitForIt ? signal : undefined));
    if (waitForIt) return forwarded;
    forwarded.catch((err: unknown) => this.#o.logger.debug('a resize before the run started was not delivered', { jobId, error: String(err) }));
    return undefined;
  }

  async kill(jobId: string, signal?: AbortSignal): Promise<void> {
    const run = this.#require(jobId);
    if (run.state === 'starting') run.killRequested = true;
    else if (run.state === 'running') await killRun(run, this.#o.sandbox, signal);
  }

  // ---- backend ----

  stats(): RunStats {
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

  async dispose(): Promise<void> {
    this.#disposed = true;
    const shutdown: RunEnd = { status: 'killed', code: null, message: 'the gateway is shutting down' };
    for (const run of this.#queue.drain()) this.#finish(run, shutdown);
    const going = [...this.#active.keys(), ...this.#terminals.keys()];
    for (const run of going) run.abort.abort(new CodeCellError('sandbox_unavailable', 'the gateway is shutting down'));
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
    this.#slots.refresh();
    while (!this.#disposed && this.#active.size < this.#slots.count) {
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

  async #execute(run: Run): Promise<void> {
    const onSent = (): void => {
      this.#sent.get(run)?.();
      this.#sent.delete(run);
    };
    const failed = await relayRun({ run, sandbox: this.#o.sandbox, logger: this.#o.logger, finish: (r, end) => this.#finish(r, end), onSent });
    // The sandbox may have restarted with another MAX_CONCURRENT_RUNS.
    if (failed === 'sandbox_unavailable') this.#slots.forget();
  }

  #finish(run: Run, end: RunEnd): void {
    if (run.state === 'finished') return;
    run.finish(end, this.#o.now());
    this.#o.logger.debug('run finished', { jobId: run.jobId, ...end });
    if (!this.#disposed) this.#retained.add(run);
  }
}
