/**
 * One run from request to exit: start event, its stages (compile, run) with
 * their output (decoded, capped) and diagnostics, stdin, a TTY run's resizes,
 * host-side wall-clock timeouts per stage (for terminal sessions: an idle
 * timeout, re-armed by input) and kill, and the final status.
 * The host enforces every limit itself: a guest that ignores a kill loses its VM.
 * @module
 */
import { BUILD_DIR, CodeCellError, toCodeCellError } from '@codecell/protocol';
import type { RunEvent, RunStatus, ExitFrame, StageResult, TerminalSize } from '@codecell/protocol';
import type { AgentRun } from '../agent/AgentConnection.js';
import type { RunLease } from '../pool/SessionManager.js';
import { AsyncQueue } from '../util/AsyncQueue.js';
import type { RunPlan } from './runPlan.js';
import { OutputFiles } from './OutputFiles.js';
import { StageOutput } from './StageOutput.js';

/** After a kill, how long the guest gets to report the exit before its VM is destroyed. */
export const KILL_GRACE_MS = 1000;
/** Processes and threads a program may have at once (guest cgroup pids.max). */
export const RUN_PIDS_MAX = 256;
/** Largest file a program may write (RLIMIT_FSIZE). */
export const RUN_FILE_SIZE_BYTES = 64 * 1024 * 1024;
export const RUN_OPEN_FILES = 1024;

type HostReason = 'timeout' | 'killed' | 'output_limit';

export class RunJob {
  readonly events = new AsyncQueue<RunEvent>();
  readonly createdAt = Date.now();
  state: 'queued' | 'running' | 'finished' = 'queued';
  /** How it ended: the exit status, or the error code of a run that never started; null until then. */
  endStatus: string | null = null;
  /** Aborted when the run is killed before it got a VM, or the service stops. */
  readonly abort = new AbortController();
  private run: AgentRun | undefined;
  private lease: RunLease | undefined;
  private pendingStdin: Buffer[] = [];
  /** A resize that came before the program started. */
  private pendingSize: TerminalSize | null = null;
  /** The timeout armed last, to re-arm an idle timeout on activity. */
  private timeoutMs = 0;
  private stdinClosed: boolean;
  private hostReason: HostReason | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private outputLeft: number;
  private readonly onFinish: () => void;

  constructor(
    readonly jobId: string,
    readonly plan: RunPlan,
    onFinish: () => void,
  ) {
    this.stdinClosed = !plan.stdinOpen;
    this.outputLeft = plan.outputBytes;
    this.onFinish = onFinish;
  }

  /** Delivers stdin to the program (buffered until it starts). `eof` closes it. */
  sendStdin(data: string, eof: boolean): void {
    if (this.state === 'finished') throw new CodeCellError('run_finished', `run ${this.jobId} has already finished`);
    if (this.stdinClosed) throw new CodeCellError('stdin_closed', `stdin of run ${this.jobId} is closed (it was sent with eof, or the request's stdin ended it; set stdinOpen to keep it open)`);
    const buf = Buffer.from(data, 'utf8');
    if (eof) this.stdinClosed = true;
    this.activity();
    if (this.run) {
      this.run.sendStdin(buf);
      if (eof) this.run.closeStdin();
    } else {
      this.pendingStdin.push(buf);
    }
  }

  /**
   * Changes a TTY run's terminal size: the program gets SIGWINCH.
   * @throws CodeCellError run_finished, not_a_terminal (a pipe run)
   */
  resize(size: TerminalSize): void {
    if (this.state === 'finished') throw new CodeCellError('run_finished', `run ${this.jobId} has already finished`);
    if (this.plan.tty === null) throw new CodeCellError('not_a_terminal', `run ${this.jobId} has no terminal to resize; start it with "tty": true (or {cols, rows})`);
    if (!this.run) {
      this.pendingSize = size;
      return;
    }
    this.run.resize(size);
    this.events.push({ type: 'size', ...size });
  }

  /** Stops the run with status `killed`. */
  kill(): void {
    if (this.state === 'finished') throw new CodeCellError('run_finished', `run ${this.jobId} has already finished`);
    if (this.state === 'queued') {
      this.abort.abort(new CodeCellError('run_finished', 'killed before it started'));
      this.hostReason = 'killed';
      return;
    }
    this.hostKill('killed');
  }

  /** Ends a run that never got a VM with an error event. */
  failBeforeStart(err: unknown): void {
    if (this.state === 'finished') return;
    const e = toCodeCellError(err);
    if (this.hostReason === 'killed') {
      this.events.push({ type: 'error', code: 'run_finished', message: 'the run was stopped before it started' });
      this.endStatus = 'killed';
    } else {
      this.events.push({ type: 'error', code: e.code, message: e.message });
      this.endStatus = e.code;
    }
    this.finish();
  }

  /** Runs the program on the leased VM; resolves when the exit event has been queued. */
  async execute(lease: RunLease): Promise<void> {
    const { vm, agent } = lease.vm;
    const p = this.plan;
    this.state = 'running';
    this.events.push({ type: 'start', jobId: this.jobId, vmId: vm.id, at: Date.now() });
    const size = this.pendingSize ?? p.tty;
    if (size) this.events.push({ type: 'size', cols: size.cols, rows: size.rows });
    const started = performance.now();
    const run = agent.exec({
      files: p.files.map((f) => ({ path: f.path, contentB64: f.content.toString('base64') })),
      stdinB64: p.stdin.toString('base64'),
      stdinOpen: p.stdinOpen,
      stages: p.stages.map((s) => ({
        name: s.name,
        argv: s.argv,
        env: s.env,
        memoryBytes: s.memoryMb * 1024 * 1024,
        ...(s.warm ? { warm: s.warm } : {}),
      })),
      ...(p.stages.length > 1 ? { buildDir: BUILD_DIR } : {}),
      ...(p.prune ? { prune: true } : {}),
      outputFiles: p.outputFiles,
      ...(size ? { tty: size } : {}),
      ...(p.terminal ? { terminal: true } : {}),
      limits: { pids: RUN_PIDS_MAX, outputBytes: p.outputBytes, fileSizeBytes: RUN_FILE_SIZE_BYTES, openFiles: RUN_OPEN_FILES },
    });
    this.run = run;
    for (const buf of this.pendingStdin.splice(0)) run.sendStdin(buf);
    if (p.stdinOpen && this.stdinClosed) run.closeStdin();
    this.lease = lease;
    // Each stage has its own wall-clock limit, from when the guest says it started (the first at once).
    this.armTimer(p.stages[0]?.timeoutMs ?? p.timeoutMs);
    const out = new StageOutput(p.language, (e) => this.events.push(e));
    const files = new OutputFiles(p.outputFiles);
    let exit: ExitFrame | undefined;
    let crash: CodeCellError | undefined;
    try {
      for await (const ev of run.events) {
        if (ev.type === 'exit') exit = ev.exit;
        else if (ev.type === 'stage') {
          out.startStage(ev.name, ev);
          this.armTimer(p.stages.find((s) => s.name === ev.name)?.timeoutMs ?? p.timeoutMs);
        } else if (ev.type === 'file') {
          const event = files.event(ev.file, ev.content);
          if (event) this.events.push(event);
        } else this.output(ev.type, ev.data, out);
      }
    } catch (err) {
      crash = toCodeCellError(err);
    } finally {
      clearTimeout(this.timer);
      clearTimeout(this.graceTimer);
    }
    out.end();
    const wallMs = performance.now() - started;
    if (!exit) {
      lease.discard();
      if (!this.hostReason) this.events.push({ type: 'error', code: 'vm_crashed', message: crash?.message ?? 'the VM ended the run without an exit report' });
      this.endStatus = this.hostReason ?? 'internal_error';
      this.events.push({
        type: 'exit',
        code: null,
        signal: 'SIGKILL',
        status: this.hostReason ?? 'internal_error',
        cpuMs: 0,
        wallMs: round(wallMs),
        maxRssKb: 0,
      });
    } else {
      const status = this.statusOf(exit);
      this.endStatus = status;
      this.events.push({
        type: 'exit',
        code: exit.code,
        signal: exit.signal,
        status,
        cpuMs: round(exit.cpuMs),
        wallMs: round(exit.wallMs),
        maxRssKb: exit.maxRssKb,
        ...(exit.compile ? { compile: stageResult(exit.compile) } : {}),
      });
    }
    this.finish();
  }

  private armTimer(ms: number): void {
    clearTimeout(this.timer);
    this.timeoutMs = ms;
    this.timer = setTimeout(() => this.hostKill('timeout'), ms);
  }

  /**
   * Input: a terminal session's idle timeout starts again. Output does not
   * count, so a program printing forever cannot keep a session alive.
   */
  private activity(): void {
    if (this.plan.idleTimeoutMs !== null && this.timer !== undefined && !this.hostReason) this.armTimer(this.timeoutMs);
  }

  private statusOf(exit: ExitFrame): RunStatus {
    const killedByUs = exit.signal === 'SIGKILL' || exit.code === null;
    if (this.hostReason && killedByUs) return this.hostReason;
    if (exit.outputLimited || this.hostReason === 'output_limit') return 'output_limit';
    if (exit.oomKilled) return 'memory_limit';
    if (exit.code === 0) return 'ok';
    // The run ended in its compile stage: the compiler said no (its diagnostics were sent).
    return exit.stage === 'compile' ? 'compile_error' : 'runtime_error';
  }

  private output(type: 'stdout' | 'stderr', data: Buffer, out: StageOutput): void {
    if (this.outputLeft <= 0) return;
    let chunk = data;
    if (chunk.length > this.outputLeft) {
      chunk = chunk.subarray(0, this.outputLeft);
      this.hostKill('output_limit');
    }
    this.outputLeft -= chunk.length;
    out.write(type, chunk);
  }

  private hostKill(reason: HostReason): void {
    if (this.hostReason || this.state !== 'running') return;
    this.hostReason = reason;
    this.run?.signal('SIGKILL');
    // The guest should report the exit at once; if it does not, its VM goes.
    this.graceTimer = setTimeout(() => {
      this.lease?.discard();
      void this.lease?.vm.vm.destroy();
    }, KILL_GRACE_MS);
  }

  private finish(): void {
    this.state = 'finished';
    this.events.end();
    this.onFinish();
  }
}

function stageResult(e: NonNullable<ExitFrame['compile']>): StageResult {
  return { code: e.code, signal: e.signal, cpuMs: round(e.cpuMs), wallMs: round(e.wallMs), maxRssKb: e.maxRssKb };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
