/**
 * Owns the run the page shows: submits runs, follows a run's stream (its own
 * or one started by someone else in the room), forwards stdin and stop. UI
 * code reads `getState()` and `subscribe()`s (React: `useSyncExternalStore`);
 * everything else is injected.
 * @module
 */
import type { RunCodeInput, RunCodeOutput, SendStdinInput, StopRunInput } from '@codecell/protocol';
import type { UserError } from '../api/userError';
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
  /** What to run, read when Run is pressed: the room, its files, entry and language, who starts it. */
  readonly submission: () => RunCodeInput;
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
  /** A run to attach to once the pending submit failed (someone else's run arrived meanwhile). */
  private deferredAttach: string | null = null;

  constructor(private readonly opts: RunControllerOptions) {
    this.schedule = opts.schedule ?? defaultSchedule;
  }

  getState = (): RunState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /**
   * Shows the run `jobId` (started by anyone): replays its output so far, then
   * follows it live. Does nothing when it is already shown. While our own Run
   * is being submitted, the submitted run wins; `jobId` is shown only if that
   * submit fails.
   */
  attach(jobId: string, opts: { readonly explicit?: boolean } = {}): void {
    if (this.state.jobId === jobId) return;
    if (this.state.phase === 'submitting') {
      this.deferredAttach = jobId;
      return;
    }
    this.dispatch({ type: 'attach', jobId });
    this.follow(jobId, opts.explicit === true);
  }

  /** Runs the room's entry file. Does nothing while a run is active. */
  async run(): Promise<void> {
    if (isActive(this.state)) return;
    this.closeStream();
    this.deferredAttach = null;
    this.dispatch({ type: 'submit' });
    let out: RunCodeOutput;
    try {
      out = await this.opts.api.runCode(this.opts.submission());
    } catch (err) {
      this.dispatch({ type: 'submitFailed', error: this.opts.toUserError(err) });
      const deferred = this.deferredAttach;
      this.deferredAttach = null;
      if (deferred !== null) this.attach(deferred);
      return;
    }
    this.deferredAttach = null;
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

  /** @param explicit the user asked for this run: say so when it is gone */
  private follow(jobId: string, explicit = false): void {
    this.closeStream();
    this.stream = this.opts.openStream(jobId, {
      onMessage: (message) => {
        this.dispatch({ type: 'message', message }, true);
        if (message.type === 'end') this.closeStream();
      },
      onReconnecting: () => this.dispatch({ type: 'connection', state: 'reconnecting' }),
      onGone: (message) => {
        this.dispatch({ type: 'jobGone', message: `Run ${jobId} is no longer available: ${message}` });
        if (explicit) {
          const error = { code: 'not_found', message: `The output of run ${jobId} is no longer kept by the gateway (${message}).` };
          this.dispatch({ type: 'error', error });
        }
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
