/**
 * The gateway's run core: turns `runCode` inputs into runs, hands them to a
 * {@link RunBackend} (its queue, its event log, its stdin/resize/kill
 * channel) and follows the runs it submitted (see {@link RunFollower}) to
 * tell the room, the quotas and the metrics how they go and to put the files
 * they write into the room. The same code serves the embedded default
 * (`LocalRuns`: one process, one sandbox) and fleet mode (Redis: any gateway,
 * any sandbox host). Terminal sessions (a room's shell or REPL) start at once
 * beside the queue. Knows nothing of HTTP,
 * WebSocket or tRPC.
 * @module
 */
import { CodeCellError } from '@codecell/protocol';
import type { OpenTerminal, RunCodeOutput, SendStdinInput, StopRunInput, TerminalRequest, TerminalSize } from '@codecell/protocol';
import { randomId } from '@codecell/server-kit';
import type { Logger } from '@codecell/server-kit';
import type { RunBackend, RunFacts, RunInfo, RunStats, RunSubscriber, RunSubscription } from './ports.js';
import type { Run } from './Run.js';
import { RunFollower } from './RunFollower.js';
import type { FollowHooks } from './RunFollower.js';
import { buildRunRequest } from './runRequest.js';
import type { RunDefaults, RunMaxima } from './runRequest.js';
import type { ParsedRunCodeInput, RunOwner } from './types.js';

export { MAX_PENDING_STDIN_BYTES } from './ports.js';
export type { TerminalPort } from './ports.js';
export type { FinishedRun } from './RunFollower.js';

/** Options of {@link RunManager}. */
export interface RunManagerOptions extends FollowHooks {
  readonly backend: RunBackend;
  readonly logger: Logger;
  /** Limits each run asks for (RUN_TIMEOUT_MS, MAX_MEM_MB, MAX_VCPUS). */
  readonly defaults: RunDefaults;
  /** The most a run may ask for (MAX_RUN_TIMEOUT_MS, MAX_MEM_MB, MAX_VCPUS); beyond: limit_exceeded. @default no check */
  readonly maxima?: RunMaxima;
  /** Makes gateway job ids. @default 16 random base64url characters (server-kit's randomId) */
  readonly newJobId?: () => string;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** Counts for health and tests. */
export type RunManagerStats = RunStats;

/** Submits runs, serves their streams, routes stdin, resizes and stop. */
export class RunManager {
  readonly #o: RunManagerOptions;
  readonly #follower: RunFollower;
  #disposed = false;

  constructor(options: RunManagerOptions) {
    this.#o = options;
    this.#follower = new RunFollower({ ...options, now: () => this.#now() });
  }

  /** The backend's ports (fleet health and metrics read them). */
  get backend(): RunBackend {
    return this.#o.backend;
  }

  /**
   * Queues a run; it starts as soon as a host takes it. `owner` is who pressed
   * Run (their name is the room's `startedBy`; without one, `input.startedBy`).
   * A run that starts at once is recorded in its room after its request left.
   * @throws CodeCellError invalid_request (entry not in files), limit_exceeded, capacity_exceeded (queue full), sandbox_unavailable
   */
  async submit(input: ParsedRunCodeInput, owner: RunOwner | null = null): Promise<RunCodeOutput> {
    this.#refuseWhenDisposed();
    const request = buildRunRequest(input, this.#o.defaults, this.#o.maxima);
    const facts = this.#facts({ sessionId: request.sessionId, startedBy: owner?.displayName ?? input.startedBy ?? null, owner });
    const { queue, log } = this.#o.backend;
    await log.open(facts);
    // Followed before it is queued: a host may start (and end) it at once.
    const followed = await this.#follower.follow(facts, (s) => log.subscribe(facts.jobId, s));
    let position: number;
    try {
      const enqueued = await queue.enqueue({ facts, request });
      position = enqueued.position;
      void enqueued.sent.then(() => this.#follower.accepted(followed));
    } catch (err) {
      this.#follower.drop(followed);
      await log.discard(facts.jobId);
      throw err;
    }
    this.#o.logger.debug('run submitted', { jobId: facts.jobId, position, sessionId: request.sessionId });
    return { jobId: facts.jobId, position };
  }

  /**
   * Opens the room's terminal session of `request.program` (shell, REPL) in
   * its VM, or joins the one open already (in a fleet, on any gateway): it
   * waits for no slot and is not recorded in the room's runs. One this call
   * started is followed here (its files, its CPU charge).
   * @throws CodeCellError sandbox_unavailable, capacity_exceeded
   */
  async openTerminal(request: TerminalRequest, owner: RunOwner | null): Promise<OpenTerminal> {
    this.#refuseWhenDisposed();
    const facts = this.#facts({ sessionId: request.sessionId, startedBy: owner?.displayName ?? null, owner, terminal: true });
    const { log, terminals } = this.#o.backend;
    const { session, started } = await terminals.open({ facts, request });
    if (started) await this.#follower.followTerminal(facts, (s) => log.subscribe(facts.jobId, s));
    return session;
  }

  /** The room's open terminal sessions (every gateway's, in a fleet). */
  terminals(roomId: string): Promise<OpenTerminal[]> {
    return this.#o.backend.terminals.list(roomId);
  }

  /** Calls `onChange` when a terminal session of the room was opened (see `TerminalPort.watch`). */
  watchTerminals(roomId: string, onChange: () => void): () => void {
    return this.#o.backend.terminals.watch(roomId, onChange);
  }

  /**
   * Follows a run a gateway that is gone submitted (fleet mode, see
   * OrphanAdopter): its room records, files and CPU charge are this one's now
   * (one submitted since `submittedBefore` is left alone: this process follows it).
   * False when the run is unknown or expired.
   */
  async adopt(jobId: string, o: { readonly submittedBefore?: number } = {}): Promise<boolean> {
    this.#refuseWhenDisposed(); // it stays in this gateway's set, for the next one
    const facts = await this.#o.backend.log.info(jobId);
    if (!facts) return false;
    if (o.submittedBefore !== undefined && facts.submittedAt >= o.submittedBefore) return true;
    return this.#follower.adopt(facts, (s) => this.#o.backend.log.subscribe(jobId, s));
  }

  /** The run with this gateway jobId while it is retained (in-process backend only; tests and diagnostics). */
  get(jobId: string): Run | undefined {
    const b = this.#o.backend as RunBackend & { get?: (jobId: string) => Run | undefined };
    return b.get?.(jobId);
  }

  /** Who and what the run is, while it is retained (any gateway's run in fleet mode). */
  info(jobId: string): Promise<RunInfo | undefined> {
    return this.#o.backend.log.info(jobId);
  }

  /** Subscribes to a run; undefined when the jobId is unknown or expired. */
  subscribe(jobId: string, subscriber: RunSubscriber): Promise<RunSubscription | undefined> {
    return this.#o.backend.log.subscribe(jobId, subscriber);
  }

  /**
   * Sends stdin. Before the run starts it is buffered (and this resolves at
   * once); afterwards it resolves when the run's host took it.
   * @throws CodeCellError not_found, run_finished, stdin_closed, payload_too_large
   */
  async sendStdin(input: SendStdinInput, signal?: AbortSignal): Promise<void> {
    await this.#o.backend.control.sendStdin(input.jobId, { data: input.data, ...(input.eof === undefined ? {} : { eof: input.eof }) }, signal);
  }

  /**
   * Resizes a TTY run's or terminal session's terminal (forwarded once it runs).
   * @throws CodeCellError not_found, run_finished, not_a_terminal
   */
  async resize(jobId: string, size: TerminalSize, signal?: AbortSignal): Promise<void> {
    await this.#o.backend.control.resize(jobId, size, signal);
  }

  /**
   * Stops a run: a queued run is dropped, a running one killed by its host.
   * Stopping a finished run does nothing.
   * @throws CodeCellError not_found, or the host's error when the kill fails
   */
  async stop(input: StopRunInput, signal?: AbortSignal): Promise<void> {
    const { queue, log, control } = this.#o.backend;
    const run = await log.info(input.jobId);
    if (!run) throw new CodeCellError('not_found', `no run ${input.jobId}: it never existed or finished a while ago`);
    if (run.state === 'finished') return;
    if (await queue.cancel(input.jobId)) {
      await log.finish(input.jobId, { status: 'killed', code: null, message: 'stopped before it started' });
      return;
    }
    await control.kill(input.jobId, signal);
  }

  /** Stops every queued and running run (and terminal session) of a room (it is being deleted). */
  async stopRoom(roomId: string): Promise<void> {
    const jobIds = await this.#o.backend.log.unfinished(roomId);
    await Promise.allSettled(jobIds.map((jobId) => this.stop({ jobId })));
  }

  /** Runs and terminal sessions this gateway submitted (or adopted) that have not ended (its metrics). */
  inProgress(): { runs: number; terminals: number } {
    return this.#follower.counts();
  }

  /** True while a run this gateway submitted has not ended. */
  isFollowing(jobId: string): boolean {
    return this.#follower.isFollowing(jobId);
  }

  /** Queue and run counts, and the memory they hold (this process). */
  stats(): RunManagerStats {
    return this.#o.backend.stats();
  }

  /** Ends what this process owns (see {@link RunBackend.dispose}) and stops following. Safe to call twice. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    await this.#o.backend.dispose();
    this.#follower.dispose();
  }

  #refuseWhenDisposed(): void {
    if (this.#disposed) throw new CodeCellError('sandbox_unavailable', 'the gateway is shutting down; try again in a moment');
  }

  #facts(o: Pick<RunFacts, 'sessionId' | 'startedBy' | 'owner' | 'terminal'>): RunFacts {
    return { jobId: (this.#o.newJobId ?? randomId)(), ...o, submittedAt: this.#now() };
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}
