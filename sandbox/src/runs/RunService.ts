/**
 * Accepts runs, queues them behind a concurrency limit (FIFO, so one busy
 * user cannot starve the rest), and keeps finished jobs for a while so late
 * stdin / kill calls get `run_finished` rather than `not_found`. Terminal
 * sessions (`POST /terminal`) are jobs too, but take no run slot: they run
 * beside their session's runs, at most {@link MAX_TERMINALS_PER_SESSION} each.
 * @module
 */
import { CodeCellError } from '@codecell/protocol';
import type { RunRequest, TerminalRequest } from '@codecell/protocol';
import type { SandboxConfig } from '../config.js';
import type { SessionManager } from '../pool/SessionManager.js';
import { randomId } from '@codecell/server-kit';
import type { Logger } from '@codecell/server-kit';
import { RunJob } from './RunJob.js';
import { planRun } from './runPlan.js';
import type { RunPlan } from './runPlan.js';
import { planTerminal } from './terminalPlan.js';

/** How long a finished job stays addressable. */
export const FINISHED_JOB_RETENTION_MS = 60_000;
/** Terminal sessions one session may have open at once (the agent's own cap, guest SPEC 3.11). */
export const MAX_TERMINALS_PER_SESSION = 4;

export class RunService {
  private readonly jobs = new Map<string, RunJob>();
  private running = 0;
  private readonly queue: Array<() => void> = [];
  private total = 0;
  private disposed = false;

  constructor(
    private readonly o: {
      config: SandboxConfig;
      sessions: SessionManager;
      logger: Logger;
      /** The VMs' acceleration: under TCG compiles get a longer default timeout. */
      acceleration?: 'kvm' | 'tcg' | 'none';
      /** Told the end status of every run (not terminal sessions): metrics. */
      onRunEnd?: (status: string) => void;
    },
  ) {}

  stats(): { active: number; queued: number; total: number } {
    return { active: this.running, queued: Math.max(0, this.waiting() - this.running), total: this.total };
  }

  /** Runs (not terminal sessions) accepted but not finished: waiting for their session, a slot or a VM, or running. */
  private waiting(): number {
    let n = 0;
    for (const job of this.jobs.values()) if (job.state !== 'finished' && !job.plan.terminal) n++;
    return n;
  }

  get(jobId: string): RunJob {
    const job = this.jobs.get(jobId);
    if (!job) throw new CodeCellError('not_found', `no run with jobId "${jobId}" (unknown, or finished more than ${FINISHED_JOB_RETENTION_MS / 1000} s ago)`);
    return job;
  }

  /** Validates and enqueues a run; its events stream from `job.events`. */
  start(req: RunRequest): RunJob {
    if (this.disposed) throw new CodeCellError('sandbox_unavailable', 'the sandbox is shutting down');
    const plan = planRun(req, this.o.config, { acceleration: this.o.acceleration ?? 'kvm' });
    const waiting = this.waiting();
    if (waiting >= this.o.config.MAX_CONCURRENT_RUNS + this.o.config.MAX_QUEUED_RUNS) {
      throw new CodeCellError(
        'capacity_exceeded',
        `the sandbox is at capacity (${this.running} running, ${waiting - this.running} waiting); retry shortly or raise MAX_QUEUED_RUNS`,
      );
    }
    if (plan.sessionId !== undefined) this.o.sessions.admit(plan.sessionId); // may refuse: MAX_SESSIONS
    const job = this.register(plan);
    void this.execute(job);
    return job;
  }

  /**
   * Opens a terminal session (bash, the Python or Node REPL) in the session's
   * VM; its events stream from `job.events` like a run's.
   * @throws CodeCellError limit_exceeded, capacity_exceeded (MAX_SESSIONS, or too many terminals in the session)
   */
  startTerminal(req: TerminalRequest): RunJob {
    if (this.disposed) throw new CodeCellError('sandbox_unavailable', 'the sandbox is shutting down');
    const plan = planTerminal(req, this.o.config);
    let open = 0;
    for (const job of this.jobs.values()) if (job.plan.terminal && job.state !== 'finished' && job.plan.sessionId === req.sessionId) open++;
    if (open >= MAX_TERMINALS_PER_SESSION) {
      throw new CodeCellError('capacity_exceeded', `session ${req.sessionId} has ${open} terminal sessions open already (at most ${MAX_TERMINALS_PER_SESSION}); close one first`);
    }
    this.o.sessions.admit(req.sessionId);
    const job = this.register(plan);
    void this.executeTerminal(job, req.sessionId);
    return job;
  }

  private register(plan: RunPlan): RunJob {
    const jobId = `j${randomId(9)}`;
    const job: RunJob = new RunJob(jobId, plan, () => {
      const t = setTimeout(() => this.jobs.delete(jobId), FINISHED_JOB_RETENTION_MS);
      t.unref();
      if (!plan.terminal) this.o.onRunEnd?.(job.endStatus ?? 'internal_error');
    });
    this.jobs.set(jobId, job);
    this.total++;
    return job;
  }

  private async executeTerminal(job: RunJob, sessionId: string): Promise<void> {
    try {
      await this.o.sessions.withSharedVm({ sessionId, shape: job.plan.shape, signal: job.abort.signal }, (lease) => job.execute(lease));
    } catch (err) {
      if (job.state !== 'finished') job.failBeforeStart(err);
      else this.o.logger.error('error after a terminal session finished', { jobId: job.jobId, error: String(err) });
    }
  }

  /** Stops every run and refuses new ones. */
  async dispose(): Promise<void> {
    this.disposed = true;
    for (const job of this.jobs.values()) {
      if (job.state === 'queued') job.abort.abort(new CodeCellError('sandbox_unavailable', 'the sandbox is shutting down'));
      else if (job.state === 'running') job.kill();
    }
    for (const wake of this.queue.splice(0)) wake();
  }

  private async execute(job: RunJob): Promise<void> {
    const admit = async (): Promise<() => void> => {
      await this.acquireSlot(job.abort.signal);
      return () => this.releaseSlot();
    };
    try {
      await this.o.sessions.withVm({ sessionId: job.plan.sessionId, shape: job.plan.shape, signal: job.abort.signal, admit }, (lease) =>
        job.execute(lease),
      );
    } catch (err) {
      if (job.state !== 'finished') job.failBeforeStart(err);
      else this.o.logger.error('error after a run finished', { jobId: job.jobId, error: String(err) });
    }
  }

  private acquireSlot(signal: AbortSignal): Promise<void> {
    if (this.running < this.o.config.MAX_CONCURRENT_RUNS) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const wake = (): void => {
        signal.removeEventListener('abort', onAbort);
        if (this.disposed) return reject(new CodeCellError('sandbox_unavailable', 'the sandbox is shutting down'));
        this.running++;
        resolve();
      };
      const onAbort = (): void => {
        const i = this.queue.indexOf(wake);
        if (i >= 0) this.queue.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(wake);
    });
  }

  private releaseSlot(): void {
    this.running--;
    this.queue.shift()?.();
  }
}
