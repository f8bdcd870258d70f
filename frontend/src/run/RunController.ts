/**
 * Owns the run the page shows: starts runs, follows a run's stream (its own
 * or one started by someone else in the room), forwards stdin, keystrokes,
 * resizes and stop. The same controller drives a terminal session tab (its
 * `start` opens the room's shell or REPL). UI code reads `getState()` and
 * `subscribe()`s (React: `useSyncExternalStore`); everything else is injected.
 * @module
 */
import type { RunCodeOutput, SendStdinInput, StopRunInput, TerminalSize } from '@codecell/protocol';
import type { UserError } from '../api/userError';
import { acceptsStdin, initialRunState, isActive, runReducer } from './runState';
import type { RunAction, RunState } from './runState';
import type { RunStreamHandle, RunStreamHandlers } from './runStream';

/** The gateway operations a run needs. */
export interface RunApi {
  sendStdin(input: SendStdinInput): Promise<unknown>;
  stopRun(input: StopRunInput): Promise<unknown>;
  /** Resizes a TTY run's terminal. */
  resize(input: { readonly jobId: string } & TerminalSize): Promise<unknown>;
}

export interface RunControllerOptions {
  readonly api: RunApi;
  readonly openStream: (jobId: string, handlers: RunStreamHandlers) => RunStreamHandle;
  /**
   * Starts what Run starts, read when it is pressed: the room's files as a
   * run (`runCode` with the room, files, entry, language, who starts it and
   * the terminal's size), or a terminal session.
   */
  readonly start: () => Promise<RunCodeOutput>;
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
      out = await this.opts.start();
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

  /**
   * Sends one line of stdin: on a terminal it is typed with Enter (the
   * terminal echoes it); on pipes a newline is added and it is echoed here.
   */
  async sendLine(line: string): Promise<void> {
    if (this.state.tty !== null) await this.sendKeys(`${line}\r`);
    else await this.sendStdin(`${line}\n`, false);
  }

  /** End of file: Ctrl+D typed at a terminal (which stays open), else the program's stdin is closed. */
  async sendEof(): Promise<void> {
    if (this.state.tty !== null) await this.sendKeys('\x04');
    else await this.sendStdin('', true);
  }

  /** What was typed at the terminal, as is (the program's terminal echoes it, so there is no local echo). */
  async sendKeys(data: string): Promise<void> {
    const { jobId } = this.state;
    if (jobId === null || data === '' || !acceptsStdin(this.state)) return;
    try {
      await this.opts.api.sendStdin({ jobId, data });
    } catch (err) {
      this.dispatch({ type: 'error', error: this.opts.toUserError(err) });
    }
  }

  /** The terminal's size changed: a TTY run that is still going gets it (SIGWINCH). */
  async resize(size: TerminalSize): Promise<void> {
    const { jobId, tty } = this.state;
    if (jobId === null || tty === null || !isActive(this.state) || (tty.cols === size.cols && tty.rows === size.rows)) return;
    try {
      await this.opts.api.resize({ jobId, ...size });
    } catch (err) {
      this.dispatch({ type: 'error', error: this.opts.toUserError(err) });
    }
  }

  /** The gateway refused something sent about a run (keystrokes, a resize, stop): shown when it is this run. */
  refused(refusal: { readonly jobId: string; readonly code: string; readonly message: string }): void {
    if (refusal.jobId === this.state.jobId) this.dispatch({ type: 'error', error: { code: refusal.code, message: refusal.message } });
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
