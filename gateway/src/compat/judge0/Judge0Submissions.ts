/**
 * Judge0 submissions (J2-J5 in gateway/SPEC.md): each valid submission is
 * stored In Queue, waits in its owner's queue ({@link OwnerQueues}), and is handed to the
 * gateway's runs (RunService: quotas, limits, the one run queue) at most
 * `maxInFlightPerOwner` at a time. A quota that frees up (concurrent runs,
 * runs per minute) or a full run queue holds the owner's queue and retries;
 * a quota that does not (CPU-seconds per day) ends the submission as Internal
 * Error with the quota's message. Results are stored and kept for
 * `retentionMs`; submissions a restart interrupted become Internal Error.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { CodeCellError, Judge0Status, toCodeCellError } from '@codecell/protocol';
import type { Judge0ValidationError } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { Caller } from '../../auth/Caller.js';
import { quotaKeyOf } from '../../auth/Caller.js';
import { QuotaExceededError } from '../../quotas/QuotaExtension.js';
import type { GatewayStore } from '../../store/GatewayStore.js';
import type { CompatRuntimes } from '../compatContext.js';
import type { CompatLimits } from '../compatLimits.js';
import type { CompatRunner } from '../CompatRunner.js';
import { judge0LanguageName } from './judge0Info.js';
import { finishedRecord, judge0RecordSchema, newRecord } from './judge0Records.js';
import type { Judge0Record } from './judge0Records.js';
import { Judge0ValidationFailure, parseJudge0Submission } from './judge0Request.js';
import type { Judge0Job } from './judge0Request.js';
import { judge0Verdict } from './judge0Result.js';
import { OwnerQueues } from './OwnerQueues.js';
import type { StartResult } from './OwnerQueues.js';
import type { Judge0Verdict } from './judge0Result.js';

/** How long an owner's queue waits before trying again when a quota or the run queue was full, ms. */
export const JUDGE0_RETRY_MS = 1_000;

/** Options of {@link Judge0Submissions}. */
export interface Judge0SubmissionsOptions {
  readonly store: GatewayStore;
  readonly runner: CompatRunner;
  readonly runtimes: CompatRuntimes;
  readonly limits: CompatLimits;
  readonly logger: Logger;
  /** JUDGE0_RETENTION_HOURS in ms. */
  readonly retentionMs: number;
  /** JUDGE0_MAX_QUEUE_SIZE: unfinished submissions per owner; more are refused (503 "queue is full"). */
  readonly maxQueueSize: number;
  /** Bytes of source and stdin all waiting submissions may hold (MAX_QUEUED_BYTES). */
  readonly maxQueuedBytes: number;
  /** Submissions of one owner handed to the run queue at once (a sandbox's default MAX_CONCURRENT_RUNS). */
  readonly maxInFlightPerOwner: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default crypto.randomUUID */
  readonly newToken?: () => string;
  /** GATEWAY_ID: recorded in each submission, so gateways sharing one database end only what is lost. */
  readonly gatewayId?: string;
  /** Fleet mode: the gateways alive now; a submission of one of them (but this one) is not lost. */
  readonly liveGateways?: () => Promise<ReadonlySet<string>>;
}

/** A submission that has not finished. */
interface Live {
  record: Judge0Record;
  readonly caller: Caller;
  readonly job: Judge0Job;
  readonly bytes: number;
  readonly done: Promise<Judge0Record>;
  resolve(r: Judge0Record): void;
  /** Store writes of this submission, in order. */
  writes: Promise<void>;
}

/** What {@link Judge0Submissions.create} answers per body: a token, or the body's validation errors. */
export type CreateResult = { readonly token: string } | Judge0ValidationError;

/** The submissions of this gateway. */
export class Judge0Submissions {
  readonly #o: Judge0SubmissionsOptions;
  readonly #live = new Map<string, Live>();
  readonly #queues: OwnerQueues<Live>;
  readonly #running = new Set<Promise<void>>();
  #waitingBytes = 0;
  #disposed = false;

  constructor(options: Judge0SubmissionsOptions) {
    this.#o = options;
    this.#queues = new OwnerQueues({ maxInFlight: options.maxInFlightPerOwner, start: (l) => this.#start(l) });
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /**
   * Checks and stores submissions (a batch, or one) and queues the valid ones.
   * @throws CodeCellError capacity_exceeded ("queue is full") when the owner's queue or the waiting bytes would overflow
   */
  async create(caller: Caller, bodies: readonly unknown[], o: { base64: boolean }): Promise<CreateResult[]> {
    if (this.#disposed) throw new CodeCellError('sandbox_unavailable', 'the gateway is shutting down; try again in a moment');
    const owner = quotaKeyOf(caller);
    const unfinished = [...this.#live.values()].filter((l) => quotaKeyOf(l.caller) === owner).length;
    if (unfinished + bodies.length > this.#o.maxQueueSize) {
      throw new CodeCellError('capacity_exceeded', `queue is full: ${unfinished} of your submissions are unfinished (JUDGE0_MAX_QUEUE_SIZE=${this.#o.maxQueueSize})`);
    }
    const runtimes = await this.#o.runtimes.runnable();
    const parsed = bodies.map((body): Judge0Job | Judge0ValidationError => {
      try {
        return parseJudge0Submission(body, { runtimes, limits: this.#o.limits, base64: o.base64 });
      } catch (err) {
        if (err instanceof Judge0ValidationFailure) return err.errors;
        throw err;
      }
    });
    const jobs = parsed.filter((p): p is Judge0Job => 'input' in p);
    const bytes = jobs.reduce((n, j) => n + jobBytes(j), 0);
    if (this.#waitingBytes + bytes > this.#o.maxQueuedBytes) {
      throw new CodeCellError('capacity_exceeded', `queue is full: waiting submissions hold ${this.#waitingBytes} bytes (MAX_QUEUED_BYTES=${this.#o.maxQueuedBytes})`);
    }
    const createdAt = this.#now();
    const lives = jobs.map((job) => this.#newLive(caller, job, createdAt));
    await this.#o.store.createSubmissions(
      lives.map((l) => ({ token: l.record.token, owner, createdAt, expiresAt: createdAt + this.#o.retentionMs, finishedAt: null, record: JSON.stringify(l.record) })),
    );
    for (const l of lives) {
      this.#live.set(l.record.token, l);
      this.#waitingBytes += l.bytes;
    }
    this.#queues.push(owner, lives);
    let next = 0;
    return parsed.map((p) => ('input' in p ? { token: lives[next++]?.record.token ?? '' } : p));
  }

  /** Resolves with the submission once it finished (for `wait=true`). */
  finished(token: string): Promise<Judge0Record> | null {
    return this.#live.get(token)?.done ?? null;
  }

  /** The caller's submissions with these tokens, in order; null for unknown, expired or someone else's. */
  async get(caller: Caller, tokens: readonly string[]): Promise<Array<Judge0Record | null>> {
    const owner = quotaKeyOf(caller);
    const rows = await this.#o.store.getSubmissions(tokens, this.#now());
    const stored = new Map(rows.filter((r) => r.owner === owner).map((r) => [r.token, r.record] as const));
    return tokens.map((t) => {
      const live = this.#live.get(t);
      if (live) return quotaKeyOf(live.caller) === owner ? live.record : null;
      const text = stored.get(t);
      return text === undefined ? null : this.#parse(t, text);
    });
  }

  /**
   * Ends submissions a previous process left unfinished (their runs were
   * lost): at start, and now and then in fleet mode, those of this gateway
   * that are not going on here and those of gateways that are gone.
   */
  async recover(): Promise<void> {
    const now = this.#now();
    const live = (await this.#o.liveGateways?.()) ?? new Set<string>();
    for (const row of await this.#o.store.listUnfinishedSubmissions()) {
      const record = this.#parse(row.token, row.record);
      // Going on here, or on another gateway that is alive (fleet mode, one database).
      if (record === null || this.#live.has(row.token)) continue;
      if (record.gateway !== undefined && record.gateway !== this.#o.gatewayId && live.has(record.gateway)) continue;
      const ended = finishedRecord(record, internalVerdict('the gateway restarted before this submission finished; submit it again'), now);
      await this.#o.store.updateSubmission({ token: row.token, record: JSON.stringify(ended), finishedAt: now });
    }
  }

  /** Deletes submissions older than the retention time. */
  async prune(): Promise<number> {
    return this.#o.store.deleteExpiredSubmissions(this.#now());
  }

  /**
   * Stops taking submissions; those still waiting end as Internal Error. Runs
   * already handed over end with the gateway's runs: {@link settled} waits for them.
   */
  async dispose(): Promise<void> {
    this.#disposed = true;
    for (const l of this.#queues.stop()) this.#drop(l, internalVerdict('the gateway shut down before this submission ran; submit it again'));
    await Promise.allSettled([...this.#live.values()].filter((l) => l.record.finished_at !== null).map((l) => l.writes));
  }

  /** Resolves when every run handed over has ended and its result is stored. */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
    await Promise.allSettled([...this.#live.values()].map((l) => l.writes));
  }

  #newLive(caller: Caller, job: Judge0Job, createdAt: number): Live {
    const record = newRecord({
      token: (this.#o.newToken ?? randomUUID)(),
      languageId: job.languageId,
      languageName: judge0LanguageName(job.runtime),
      source: job.source,
      stdin: job.stdin,
      expectedOutput: job.expectedOutput,
      request: job.fields,
      createdAt,
      ...(this.#o.gatewayId === undefined ? {} : { gateway: this.#o.gatewayId }),
    });
    let resolve: (r: Judge0Record) => void = () => undefined;
    const done = new Promise<Judge0Record>((r) => (resolve = r));
    return { record, caller, job, bytes: jobBytes(job), done, resolve, writes: Promise.resolve() };
  }

  /** Hands a waiting submission to the run queue (RunService: quotas, limits). */
  async #start(l: Live): Promise<StartResult> {
    let run;
    try {
      run = await this.#o.runner.start({ caller: l.caller, input: l.job.input, onMessage: (m) => m.type === 'event' && m.event.type === 'start' && this.#processing(l) });
    } catch (err) {
      const delay = retryDelay(err, this.#now());
      if (delay !== null) return { kind: 'retry', delayMs: delay };
      this.#drop(l, internalVerdict(toCodeCellError(err).message));
      return { kind: 'dropped' };
    }
    this.#waitingBytes -= l.bytes;
    const ran = run.outcome.then((outcome) => {
      run.unsubscribe();
      this.#finish(l, judge0Verdict(outcome, l.job));
    });
    this.#running.add(ran);
    return { kind: 'started', done: ran.finally(() => this.#running.delete(ran)) };
  }

  /** Ends a submission that never reached the run queue. */
  #drop(l: Live, verdict: Judge0Verdict): void {
    this.#waitingBytes -= l.bytes;
    this.#finish(l, verdict);
  }

  #processing(l: Live): void {
    if (l.record.status_id !== Judge0Status.inQueue) return;
    l.record = { ...l.record, status_id: Judge0Status.processing };
    this.#write(l, null);
  }

  #finish(l: Live, verdict: Judge0Verdict): void {
    const at = this.#now();
    l.record = finishedRecord(l.record, verdict, at);
    this.#write(l, at);
    void l.writes.then(() => {
      this.#live.delete(l.record.token);
      l.resolve(l.record);
    });
  }

  #write(l: Live, finishedAt: number | null): void {
    const record = JSON.stringify(l.record);
    l.writes = l.writes
      .then(() => this.#o.store.updateSubmission({ token: l.record.token, record, finishedAt }))
      .then(
        () => undefined,
        (err: unknown) => this.#o.logger.error('could not store a Judge0 submission', { token: l.record.token, error: String(err) }),
      );
  }

  #parse(token: string, text: string): Judge0Record | null {
    try {
      return judge0RecordSchema.parse(JSON.parse(text));
    } catch (err) {
      this.#o.logger.error('a stored Judge0 submission is unreadable', { token, error: String(err) });
      return null;
    }
  }
}

function jobBytes(j: Judge0Job): number {
  return j.source.length + (j.stdin?.length ?? 0) + (j.expectedOutput?.length ?? 0);
}

/** When a refused start may be tried again (ms from now), or null when it will not get better by waiting. */
function retryDelay(err: unknown, now: number): number | null {
  if (err instanceof QuotaExceededError) {
    if (err.details.quota === 'concurrent_runs') return JUDGE0_RETRY_MS;
    if (err.details.quota === 'runs_per_minute' && err.details.resetsAt !== null) return Math.max(JUDGE0_RETRY_MS, err.details.resetsAt - now);
    return null;
  }
  return err instanceof CodeCellError && err.code === 'capacity_exceeded' ? JUDGE0_RETRY_MS : null;
}

function internalVerdict(message: string): Judge0Verdict {
  return { status_id: Judge0Status.internalError, stdout_b64: null, stderr_b64: null, compile_output_b64: null, message, time: null, wall_time: null, memory: null, exit_code: null, exit_signal: null };
}
