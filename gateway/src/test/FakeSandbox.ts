/**
 * An in-memory {@link SandboxApi} for unit tests: each run's events are pushed
 * by the test, stdin and kills are recorded.
 * @module
 */
import { CodeCellError } from '@codecell/protocol';
import type { Health, RunEvent, RunRequest, StdinRequest, TerminalRequest, TerminalSize } from '@codecell/protocol';
import type { SandboxApi, SandboxRunHandle, SandboxRuntime } from '../sandboxClient.js';

/** One run the fake received. The test drives it. */
export class FakeRun {
  readonly stdin: StdinRequest[] = [];
  readonly resizes: TerminalSize[] = [];
  kills = 0;
  #buffer: RunEvent[] = [];
  #ended = false;
  #failure: Error | null = null;
  #wake: (() => void) | null = null;

  constructor(
    readonly jobId: string,
    /** A run's `POST /run` body, or a terminal session's `POST /terminal` body. */
    readonly request: RunRequest | TerminalRequest,
    readonly signal: AbortSignal | undefined,
  ) {
    signal?.addEventListener('abort', () => this.fail(new Error('aborted')), { once: true });
  }

  get ended(): boolean {
    return this.#ended || this.#failure !== null;
  }

  /** Emits events in order. */
  push(...events: RunEvent[]): void {
    this.#buffer.push(...events);
    this.#wake?.();
  }

  /** Emits `start`. */
  start(): void {
    this.push({ type: 'start', jobId: this.jobId, vmId: 'vm-1', at: Date.now() });
  }

  /** Emits `exit` with `status` and ends the stream. */
  exit(status: Extract<RunEvent, { type: 'exit' }>['status'] = 'ok', code: number | null = 0): void {
    this.push({ type: 'exit', code, signal: null, status, cpuMs: 1, wallMs: 2, maxRssKb: 3 });
    this.end();
  }

  /** Ends the stream without an exit event. */
  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  /** Breaks the stream, as a connection reset would. */
  fail(err: Error): void {
    if (this.#failure === null) this.#failure = err;
    this.#wake?.();
  }

  async *events(): AsyncGenerator<RunEvent> {
    for (;;) {
      const ev = this.#buffer.shift();
      if (ev) {
        yield ev;
        continue;
      }
      if (this.#failure) throw this.#failure;
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = null;
    }
  }
}

/** The fake sandbox. Set `nextRunError` to make the next `run()` reject. */
export class FakeSandbox implements SandboxApi {
  readonly runs: FakeRun[] = [];
  nextRunError: Error | null = null;
  /** What `runtimes()` answers; an Error is thrown instead (`not_found`: a sandbox older than GET /runtimes). */
  runtimeList: SandboxRuntime[] | Error = [{ id: 'py', version: '3.11.2' }];
  /** `runtimes()` calls so far. */
  runtimeCalls = 0;
  /** Called for each run right after `run()` resolves. */
  onRun: ((run: FakeRun) => void) | null = null;
  /** When set, `run()` waits for it before answering (a run stays `starting`). */
  gate: Promise<void> | null = null;
  #n = 0;

  run(body: RunRequest, signal?: AbortSignal): Promise<SandboxRunHandle> {
    const gate = this.gate;
    return gate ? gate.then(() => this.#start(body, signal)) : this.#start(body, signal);
  }

  terminal(body: TerminalRequest, signal?: AbortSignal): Promise<SandboxRunHandle> {
    return this.#start(body, signal);
  }

  async resize(jobId: string, size: TerminalSize): Promise<void> {
    await Promise.resolve();
    const run = this.#find(jobId);
    if (run.ended) throw new CodeCellError('run_finished', 'run finished');
    run.resizes.push(size);
  }

  #start(body: RunRequest | TerminalRequest, signal?: AbortSignal): Promise<SandboxRunHandle> {
    const err = this.nextRunError;
    if (err) {
      this.nextRunError = null;
      return Promise.reject(err);
    }
    const run = new FakeRun(`sbx${++this.#n}`, body, signal);
    this.runs.push(run);
    this.onRun?.(run);
    return Promise.resolve({ jobId: run.jobId, events: run.events() });
  }

  async sendStdin(jobId: string, body: StdinRequest): Promise<void> {
    await Promise.resolve();
    const run = this.#find(jobId);
    if (run.ended) throw new CodeCellError('run_finished', 'run finished');
    run.stdin.push(body);
  }

  async kill(jobId: string): Promise<void> {
    await Promise.resolve();
    const run = this.#find(jobId);
    run.kills++;
    if (!run.ended) run.exit('killed', null);
  }

  /** What `health()` answers; null: it fails with sandbox_unavailable. */
  healthAnswer: Health | null = null;

  health(): Promise<Health> {
    if (this.healthAnswer !== null) return Promise.resolve(this.healthAnswer);
    return Promise.reject(new CodeCellError('sandbox_unavailable', 'fake sandbox has no health'));
  }

  runtimes(): Promise<SandboxRuntime[]> {
    this.runtimeCalls++;
    const list = this.runtimeList;
    return list instanceof Error ? Promise.reject(list) : Promise.resolve(list);
  }

  #find(jobId: string): FakeRun {
    const run = this.runs.find((r) => r.jobId === jobId);
    if (!run) throw new CodeCellError('not_found', `no run ${jobId}`);
    return run;
  }
}
