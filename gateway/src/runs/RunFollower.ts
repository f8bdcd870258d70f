/**
 * Follows the runs (and terminal sessions) this gateway started, through the
 * backend's log like any watcher: tells the room how each run goes
 * (`onRunUpdate`: queued, running, how it ended), puts the files a run wrote
 * into the room (`onRunFile`, with the content the log keeps apart for it),
 * tells quotas and metrics when a run ended (`onRunEnd`) and the room when a
 * terminal session started and ended (`onTerminal`). Per run, in order: a
 * file's content is fetched before anything later is told.
 * @module
 */
import { roomRunStatusSchema } from '@codecell/protocol';
import type { RoomRunRecord, RoomRunStatus, StreamMessage } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { RunBackend, RunFacts, RunSubscriber, RunSubscription } from './ports.js';
import type { OnRunFile, OnRunUpdate, RunOwner } from './types.js';

/** A run that ended, as `onRunEnd` hears of it. */
export interface FinishedRun {
  readonly jobId: string;
  readonly owner: RunOwner | null;
  /** CPU time from its `exit` event; null without one. */
  readonly cpuMs: number | null;
  readonly status: string;
  /** Milliseconds from submission to end. */
  readonly latencyMs: number;
  /** Milliseconds from submission to its first stdout or stderr; null without output. */
  readonly firstOutputMs: number | null;
  /** Submitted through a gateway that is gone (fleet): nothing of its admission is held here, only its CPU time is to charge. */
  readonly adopted: boolean;
}

/** What the run core tells others about the runs it started. Each must not throw (a throw is logged). */
export interface FollowHooks {
  /** Told when a run of a room is queued, starts running and ends (e.g. to record it in the room). */
  readonly onRunUpdate?: OnRunUpdate;
  /** Told about each file a run (or terminal session) of a room wrote, in order, before the run's final update. */
  readonly onRunFile?: OnRunFile;
  /** Told when a terminal session of a room starts (`live`) and ends, so the files it writes can go into the room. */
  readonly onTerminal?: (o: { readonly roomId: string; readonly jobId: string; readonly live: boolean }) => void;
  /** Told once when a run this gateway submitted ends (quotas, metrics); not for terminal sessions. */
  readonly onRunEnd?: (run: FinishedRun) => void;
  /** Told once when a terminal session this gateway opened ends, with its CPU time (quotas). */
  readonly onTerminalEnd?: (o: { readonly jobId: string; readonly owner: RunOwner | null; readonly cpuMs: number | null }) => void;
}

/** Options of {@link RunFollower}. */
export interface RunFollowerOptions extends FollowHooks {
  readonly backend: RunBackend;
  readonly logger: Logger;
  readonly now: () => number;
}

/** One followed run. */
export interface Followed {
  readonly facts: RunFacts;
  readonly terminal: boolean;
  /** Submitted through a gateway that is gone, followed here from its replay. */
  adopted: boolean;
  subscription: RunSubscription | null;
  running: boolean;
  cpuMs: number | null;
  wallMs: number | null;
  firstOutputAt: number | null;
  ended: boolean;
  /** Messages that came before the queue accepted the run; handled after `queued` was told. */
  early: StreamMessage[] | null;
  /** Handling of the messages so far, in order. */
  chain: Promise<void>;
}

/** The runs this gateway follows to their end. */
export class RunFollower {
  readonly #o: RunFollowerOptions;
  readonly #followed = new Map<string, Followed>();

  constructor(options: RunFollowerOptions) {
    this.#o = options;
  }

  /** Starts following a submitted run; its messages wait until {@link accepted}. */
  async follow(facts: RunFacts, subscribe: (s: RunSubscriber) => Promise<RunSubscription | undefined>): Promise<Followed> {
    const f = this.#new(facts, false);
    f.subscription = (await subscribe({ send: (m) => this.#onMessage(f, m) })) ?? null;
    return f;
  }

  /** The queue took the run: it is recorded `queued`, then what it did meanwhile is handled. */
  accepted(f: Followed): void {
    const early = f.early ?? [];
    f.early = null;
    this.#notify(f, 'queued');
    for (const m of [...(f.subscription?.replay ?? []), ...early]) this.#onMessage(f, m);
  }

  /**
   * Follows a run another gateway submitted and can no longer follow (it is
   * gone): from its replay, as if this one had submitted it, except that the
   * room already has its `queued` record. False when the run is unknown.
   */
  async adopt(facts: RunFacts, subscribe: (s: RunSubscriber) => Promise<RunSubscription | undefined>): Promise<boolean> {
    if (this.#followed.has(facts.jobId)) return true;
    const f = this.#new(facts, facts.terminal === true);
    f.adopted = true;
    try {
      f.subscription = (await subscribe({ send: (m) => this.#onMessage(f, m) })) ?? null;
    } catch (err) {
      this.#followed.delete(facts.jobId);
      throw err;
    }
    if (f.subscription === null) {
      this.#followed.delete(facts.jobId);
      return false;
    }
    if (f.terminal) this.#tellTerminal(f, true);
    const early = f.early ?? [];
    f.early = null;
    for (const m of [...f.subscription.replay, ...early]) this.#onMessage(f, m);
    return true;
  }

  /** The queue refused the run: forget it. */
  drop(f: Followed): void {
    f.subscription?.unsubscribe();
    this.#followed.delete(f.facts.jobId);
  }

  /** Follows a terminal session that just started: for the files it writes and its end. */
  async followTerminal(facts: RunFacts, subscribe: (s: RunSubscriber) => Promise<RunSubscription | undefined>): Promise<void> {
    const f = this.#new(facts, true);
    this.#tellTerminal(f, true);
    try {
      f.subscription = (await subscribe({ send: (m) => this.#onMessage(f, m) })) ?? null;
    } catch (err) {
      this.#o.logger.warn('could not follow a terminal session; the files it writes do not reach the room', { jobId: facts.jobId, error: String(err) });
    }
    if (f.subscription === null) {
      this.#followed.delete(facts.jobId);
      this.#tellTerminal(f, false);
      return;
    }
    const early = f.early ?? [];
    f.early = null;
    for (const m of [...f.subscription.replay, ...early]) this.#onMessage(f, m);
  }

  /** Runs (queued or running) and terminal sessions this gateway follows that have not ended. */
  counts(): { runs: number; terminals: number } {
    let terminals = 0;
    for (const f of this.#followed.values()) if (f.terminal) terminals++;
    return { runs: this.#followed.size - terminals, terminals };
  }

  isFollowing(jobId: string): boolean {
    return this.#followed.has(jobId);
  }

  /** Stops following everything. */
  dispose(): void {
    for (const f of this.#followed.values()) f.subscription?.unsubscribe();
    this.#followed.clear();
  }

  #new(facts: RunFacts, terminal: boolean): Followed {
    const f: Followed = { facts, terminal, adopted: false, subscription: null, running: false, cpuMs: null, wallMs: null, firstOutputAt: null, ended: false, early: [], chain: Promise.resolve() };
    this.#followed.set(facts.jobId, f);
    return f;
  }

  #onMessage(f: Followed, m: StreamMessage): void {
    if (f.early !== null) return void f.early.push(m);
    if (f.ended) return;
    if (m.type === 'event' && (m.event.type === 'stdout' || m.event.type === 'stderr')) f.firstOutputAt ??= this.#o.now();
    if (m.type === 'end') {
      f.ended = true;
      f.subscription?.unsubscribe();
      this.#followed.delete(f.facts.jobId);
    }
    f.chain = f.chain.then(() => this.#handle(f, m)).catch((err: unknown) => this.#o.logger.error('following a run failed', { jobId: f.facts.jobId, error: String(err) }));
  }

  async #handle(f: Followed, m: StreamMessage): Promise<void> {
    if (m.type === 'event') {
      const e = m.event;
      if (e.type === 'start' && !f.running) {
        f.running = true;
        this.#notify(f, 'running');
      } else if (e.type === 'file') await this.#file(f, m.seq);
      else if (e.type === 'exit') {
        f.cpuMs = e.cpuMs;
        f.wallMs = e.wallMs;
      }
      return;
    }
    if (m.type !== 'end') return;
    // Released before it is charged, and charged only by the gateway that held it: a run followed
    // twice (adopted from a gateway thought gone) or a death in between is never charged twice.
    const release = this.#o.backend.log.release?.(f.facts.jobId) ?? Promise.resolve(true);
    const held = await release.catch((err: unknown) => {
      this.#o.logger.warn('could not release a followed run; it is charged by whoever adopts it', { jobId: f.facts.jobId, error: String(err) });
      return false;
    });
    if (f.terminal) {
      this.#tellTerminal(f, false);
      if (!held) return;
      try {
        this.#o.onTerminalEnd?.({ jobId: f.facts.jobId, owner: f.facts.owner, cpuMs: f.cpuMs });
      } catch (err) {
        this.#o.logger.error('onTerminalEnd failed', { jobId: f.facts.jobId, error: String(err) });
      }
      return;
    }
    // S4 statuses are exit statuses or error codes; anything else would be a bug upstream.
    this.#notify(f, roomRunStatusSchema.catch('internal_error').parse(m.status), m);
    if (!held) return;
    try {
      const firstOutputMs = f.firstOutputAt === null ? null : f.firstOutputAt - f.facts.submittedAt;
      this.#o.onRunEnd?.({ jobId: f.facts.jobId, owner: f.facts.owner, cpuMs: f.cpuMs, status: m.status, latencyMs: this.#o.now() - f.facts.submittedAt, firstOutputMs, adopted: f.adopted });
    } catch (err) {
      this.#o.logger.error('onRunEnd failed', { jobId: f.facts.jobId, error: String(err) });
    }
  }

  /** A file the run wrote: its content (taken from the log, so it is freed either way) goes into the room. */
  async #file(f: Followed, seq: number): Promise<void> {
    const { jobId, sessionId: roomId } = f.facts;
    const file = await this.#o.backend.log.takeFile(jobId, seq);
    if (roomId === undefined || !this.#o.onRunFile) return;
    // An adopted run's earlier files went into the room through the gateway that followed it then.
    if (!file) return f.adopted ? undefined : this.#o.logger.warn('the content of a file the run wrote is gone; it is not put into the room', { jobId, seq });
    try {
      this.#o.onRunFile({ roomId, jobId, file });
    } catch (err) {
      this.#o.logger.error('onRunFile failed', { jobId, roomId, error: String(err) });
    }
  }

  /** Tells onTerminal that a terminal session of a room started or ended. Never throws. */
  #tellTerminal(f: Followed, live: boolean): void {
    if (f.facts.sessionId === undefined) return;
    try {
      this.#o.onTerminal?.({ roomId: f.facts.sessionId, jobId: f.facts.jobId, live });
    } catch (err) {
      this.#o.logger.error('onTerminal failed', { jobId: f.facts.jobId, error: String(err) });
    }
  }

  /** Tells onRunUpdate about a run of a room. Never throws. */
  #notify(f: Followed, status: RoomRunStatus, end?: Extract<StreamMessage, { type: 'end' }>): void {
    const roomId = f.facts.sessionId;
    // A room records its runs; its terminal sessions are not runs.
    if (!this.#o.onRunUpdate || roomId === undefined || f.terminal) return;
    const ended = end !== undefined;
    const record: RoomRunRecord = {
      jobId: f.facts.jobId,
      startedBy: f.facts.startedBy,
      startedAt: f.facts.submittedAt,
      status,
      endedAt: ended ? this.#o.now() : null,
      wallMs: ended ? f.wallMs : null,
      exitCode: end?.code ?? null,
    };
    try {
      this.#o.onRunUpdate({ roomId, record });
    } catch (err) {
      this.#o.logger.error('onRunUpdate failed', { jobId: f.facts.jobId, roomId, error: String(err) });
    }
  }
}
