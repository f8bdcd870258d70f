/**
 * Owns the page's current run: submits it, follows its stream, forwards stdin
 * and stop, and re-attaches after a reload. UI code reads `getState()` and
 * `subscribe()`s (React: `useSyncExternalStore`); everything else is injected.
 * @module
 */
import type { RunCodeInput, RunCodeOutput, SendStdinInput, StopRunInput } from '@codecell/protocol';
import type { UserError } from '../api/userError';
import type { WorkspaceSnapshot } from '../workspace/workspace';
import type { JobStorage } from './jobStorage';
import { acceptsStdin, initialRunState, isActive, runReducer } from './runState';
import type { RunAction, RunState } from './runState';
import type { RunStreamHandle, RunStreamHandlers } from './runStream';

/** The gateway procedures a run needs. */
export interface RunApi {
  runCode(input: RunCodeInput): Promise<RunCodeOutput>;
  sendStdin(input: SendStdinInput): Promise<unknown>;
  stopRun(input: StopRunInput): Promise<unknown>;
}

export interface RunControllerOptions {
  readonly api: RunApi;
  readonly openStream: (jobId: string, handlers: RunStreamHandlers) => RunStreamHandle;
  readonly storage: JobStorage;
  /** The files to run, read when Run is pressed. */
  readonly workspace: () => WorkspaceSnapshot;
  readonly toUserError: (err: unknown) => UserError;
  /**
   * Schedules listener notification; stream messages are applied at once but
   * rendered at most once per call. Default: next animation frame.
   */
  readonly schedule?: (fn: () => void) => void;
}

export class RunController {
  private state: RunState = initialRunState;
  private readonly listeners = new Set<() => void>();
  private stream: RunStreamHandle | null = null;
  private notifyPending = false;
  private readonly schedule: (fn: () => void) => void;

  constructor(private readonly opts: RunControllerOptions) {
    this.schedule = opts.schedule ?? defaultSchedule;
  }

  getState = (): RunState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Re-attaches to the run saved by a previous page load, if any. */
  restore(): void {
    const jobId = this.opts.storage.load();
    if (jobId === null || isActive(this.state)) return;
    this.dispatch({ type: 'attach', jobId });
    this.follow(jobId);
  }

  /** Runs the workspace's entry file. Does nothing while a run is active. */
  async run(): Promise<void> {
    if (isActive(this.state)) return;
    this.closeStream();
    this.dispatch({ type: 'submit' });
    const { files, entry } = this.opts.workspace();
    let out: RunCodeOutput;
    try {
      out = await this.opts.api.runCode({ language: 'py', files: [...files], entry });
    } catch (err) {
      this.dispatch({ type: 'submitFailed', error: this.opts.toUserError(err) });
      return;
    }
    this.opts.storage.save(out.jobId);
    this.dispatch({ type: 'submitted', jobId: out.jobId, position: out.position });
    this.follow(out.jobId);
  }

  /** Stops the active run; its stream then ends with status `killed`. */
  async stop(): Promise<void> {
    const { jobId } = this.state;
    if (jobId === null || !isActive(this.state) || this.state.stopping) return;
    this.dispatch({ type: 'stopRequested' });
    try {
      await this.opts.api.stopRun({ jobId });
    } catch (err) {
      this.dispatch({ type: 'error', error: this.opts.toUserError(err) });
    }
  }

  /** Sends one line of stdin (a newline is added) and echoes it in the output. */
  async sendLine(line: string): Promise<void> {
    await this.sendStdin(`${line}\n`, false);
  }

  /** Closes the program's stdin (what Ctrl+D does in a terminal). */
  async sendEof(): Promise<void> {
    await this.sendStdin('', true);
  }

  clearOutput(): void {
    this.dispatch({ type: 'clearOutput' });
  }

  dismissError(): void {
    this.dispatch({ type: 'dismissError' });
  }

  /** Closes the stream; safe to call twice. */
  dispose(): void {
    this.closeStream();
    this.listeners.clear();
  }

  private async sendStdin(data: string, eof: boolean): Promise<void> {
    const { jobId } = this.state;
    if (jobId === null || !acceptsStdin(this.state)) return;
    if (data !== '') this.dispatch({ type: 'stdinEcho', text: data });
    if (eof) this.dispatch({ type: 'stdinClosed' });
    try {
      await this.opts.api.sendStdin(eof ? { jobId, data, eof } : { jobId, data });
    } catch (err) {
      this.dispatch({ type: 'error', error: this.opts.toUserError(err) });
    }
  }

  private follow(jobId: string): void {
    this.closeStream();
    this.stream = this.opts.openStream(jobId, {
      onMessage: (message) => {
        this.dispatch({ type: 'message', message }, true);
        if (message.type === 'end') this.closeStream();
      },
      onReconnecting: () => this.dispatch({ type: 'connection', state: 'reconnecting' }),
      onGone: (message) => {
        this.opts.storage.clear();
        this.dispatch({ type: 'jobGone', message: `Run ${jobId} is no longer available: ${message}` });
      },
      onProtocolError: (message) => this.dispatch({ type: 'error', error: { code: 'protocol_error', message } }),
    });
  }

  private closeStream(): void {
    this.stream?.close();
    this.stream = null;
  }

  private dispatch(action: RunAction, batched = false): void {
    const next = runReducer(this.state, action);
    if (next === this.state) return;
    this.state = next;
    if (!batched) {
      this.notify();
      return;
    }
    if (this.notifyPending) return;
    this.notifyPending = true;
    this.schedule(() => {
      this.notifyPending = false;
      this.notify();
    });
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

function defaultSchedule(fn: () => void): void {
  // Hidden tabs get no animation frames; a timer keeps state moving there.
  if (typeof document !== 'undefined' && !document.hidden && typeof requestAnimationFrame === 'function') {
    requestAnimationFrame(fn);
  } else {
    setTimeout(fn, 50);
  }
}
