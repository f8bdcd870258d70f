/**
 * One run from request to exit: start event, program output (decoded,
 * capped), stdin, host-side wall-clock timeout and kill, and the final status.
 * The host enforces every limit itself: a guest that ignores a kill loses its VM.
 * @module
 */
import { StringDecoder } from 'node:string_decoder';
import { CodeCellError, toCodeCellError } from '@codecell/protocol';
import type { RunEvent, RunStatus, ExitFrame } from '@codecell/protocol';
import type { AgentRun } from '../agent/AgentConnection.js';
import type { RunLease } from '../pool/SessionManager.js';
import { AsyncQueue } from '../util/AsyncQueue.js';
import type { RunPlan } from './runPlan.js';

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
  /** Aborted when the run is killed before it got a VM, or the service stops. */
  readonly abort = new AbortController();
  private run: AgentRun | undefined;
  private lease: RunLease | undefined;
  private pendingStdin: Buffer[] = [];
  private stdinClosed: boolean;
  private hostReason: HostReason | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
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
    if (this.run) {
      this.run.sendStdin(buf);
      if (eof) this.run.closeStdin();
    } else {
      this.pendingStdin.push(buf);
    }
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
    } else {
      this.events.push({ type: 'error', code: e.code, message: e.message });
    }
    this.finish();
  }

  /** Runs the program on the leased VM; resolves when the exit event has been queued. */
  async execute(lease: RunLease): Promise<void> {
    const { vm, agent } = lease.vm;
    this.state = 'running';
    this.events.push({ type: 'start', jobId: this.jobId, vmId: vm.id, at: Date.now() });
    const started = performance.now();
    const p = this.plan;
    const run = agent.exec({
      entry: p.entry,
      files: p.files.map((f) => ({ path: f.path, contentB64: f.content.toString('base64') })),
      stdinB64: p.stdin.toString('base64'),
      stdinOpen: p.stdinOpen,
      limits: {
        memoryBytes: p.memoryMb * 1024 * 1024,
        pids: RUN_PIDS_MAX,
        outputBytes: p.outputBytes,
        fileSizeBytes: RUN_FILE_SIZE_BYTES,
        openFiles: RUN_OPEN_FILES,
      },
    });
    this.run = run;
    for (const buf of this.pendingStdin.splice(0)) run.sendStdin(buf);
    if (p.stdinOpen && this.stdinClosed) run.closeStdin();
    this.lease = lease;
    const timer = setTimeout(() => this.hostKill('timeout'), p.timeoutMs);
    const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
    let exit: ExitFrame | undefined;
    let crash: CodeCellError | undefined;
    try {
      for await (const ev of run.events) {
        if (ev.type === 'exit') exit = ev.exit;
        else this.output(ev.type, ev.data, decoders[ev.type]);
      }
    } catch (err) {
      crash = toCodeCellError(err);
    } finally {
      clearTimeout(timer);
      clearTimeout(this.graceTimer);
    }
    for (const type of ['stdout', 'stderr'] as const) {
      const rest = decoders[type].end();
      if (rest) this.events.push({ type, data: rest });
    }
    const wallMs = performance.now() - started;
    if (!exit) {
      lease.discard();
      if (!this.hostReason) this.events.push({ type: 'error', code: 'vm_crashed', message: crash?.message ?? 'the VM ended the run without an exit report' });
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
      this.events.push({
        type: 'exit',
        code: exit.code,
        signal: exit.signal,
        status: this.statusOf(exit),
        cpuMs: round(exit.cpuMs),
        wallMs: round(exit.wallMs),
        maxRssKb: exit.maxRssKb,
      });
    }
    this.finish();
  }

  private statusOf(exit: ExitFrame): RunStatus {
    const killedByUs = exit.signal === 'SIGKILL' || exit.code === null;
    if (this.hostReason && killedByUs) return this.hostReason;
    if (exit.outputLimited || this.hostReason === 'output_limit') return 'output_limit';
    if (exit.oomKilled) return 'memory_limit';
    return exit.code === 0 ? 'ok' : 'runtime_error';
  }

  private output(type: 'stdout' | 'stderr', data: Buffer, decoder: StringDecoder): void {
    if (this.outputLeft <= 0) return;
    let chunk = data;
    if (chunk.length > this.outputLeft) {
      chunk = chunk.subarray(0, this.outputLeft);
      this.hostKill('output_limit');
    }
    this.outputLeft -= chunk.length;
    const text = decoder.write(chunk);
    if (text) this.events.push({ type, data: text });
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

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
