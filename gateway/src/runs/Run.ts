/**
 * One run as the gateway sees it: its state, the ordered messages sent so far
 * (bounded, for replay), its subscribers, its stdin channel and how it ended.
 * Transport-agnostic: subscribers are plain callbacks.
 * @module
 */
import { GATEWAY_PROTOCOL_VERSION } from '@codecell/protocol';
import type { FileEvent, RunEvent, RunRequest, StreamMessage, TerminalProgram, TerminalRequest } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { RunEnd, RunFacts, RunState, RunSubscriber, RunSubscription } from './ports.js';
import { ReplayLog } from './ReplayLog.js';
import { ScreenModel, withScreen } from './ScreenModel.js';
import type { ScreenSnapshot } from './ScreenModel.js';
import { requestBytes } from './runRequest.js';
import type { RunOwner } from './types.js';

/** What the sandbox is asked for: a run (`POST /run`) or a terminal session (`POST /terminal`). */
export type SandboxRequest = RunRequest | TerminalRequest;

/** Options of {@link Run}. */
export interface RunOptions {
  readonly facts: RunFacts;
  readonly replayBytes: number;
  readonly logger: Logger;
}

/** One run of the in-process backend (LocalRuns), which creates and drives it. */
export class Run implements RunFacts {
  readonly jobId: string;
  /** The room (sandbox session) it runs in, if any. */
  readonly sessionId: string | undefined;
  /** Bytes its request holds until it is sent to the sandbox. */
  #requestBytes = 0;
  #program: TerminalProgram | null = null;
  readonly startedBy: string | null;
  readonly owner: RunOwner | null;
  /** Epoch ms when it was submitted. */
  readonly submittedAt: number;
  /** Aborted to close the sandbox connection (which makes the sandbox kill the run). */
  readonly abort = new AbortController();
  /** Held only until it is sent (finished runs keep no files or stdin). */
  #request: SandboxRequest | null = null;
  #cpuMs: number | null = null;
  #state: RunState = 'queued';
  #sandboxJobId: string | null = null;
  #end: RunEnd | null = null;
  #finishedAt: number | null = null;
  #seq = 0;
  #position: number | null = null;
  #wallMs: number | null = null;
  /** Files the run wrote (their events with content) until the run core takes them, by event seq. */
  readonly #files = new Map<number, FileEvent>();
  readonly #log: ReplayLog;
  /** The screen of a TTY run or terminal session (from its first `size` event), while it runs. */
  #screen: ScreenModel | null = null;
  /** Its last screen, kept when it ended with early output dropped. */
  #finalScreen: ScreenSnapshot | null = null;
  readonly #subscribers = new Set<RunSubscriber>();
  readonly #logger: Logger;
  /** Stdin chunks are forwarded strictly in order, after the sandbox job id is known. */
  #stdinTail: Promise<void>;
  #openStdinGate: () => void = () => undefined;
  #stdinClosed = false;
  #pendingStdinBytes = 0;
  /** Set by stop() while starting: kill as soon as the sandbox job id arrives. */
  killRequested = false;

  constructor(o: RunOptions) {
    this.jobId = o.facts.jobId;
    this.sessionId = o.facts.sessionId;
    this.startedBy = o.facts.startedBy;
    this.owner = o.facts.owner;
    this.submittedAt = o.facts.submittedAt;
    this.#log = new ReplayLog(o.replayBytes);
    this.#logger = o.logger;
    this.#stdinTail = new Promise<void>((resolve) => (this.#openStdinGate = resolve));
  }

  get state(): RunState {
    return this.#state;
  }

  /** Bytes its request holds until it is sent to the sandbox (0 before it is queued and after). */
  get requestBytes(): number {
    return this.#requestBytes;
  }

  /** Gives the run its request (held until it is sent). */
  attachRequest(request: SandboxRequest): void {
    this.#request = request;
    this.#program = 'program' in request ? request.program : null;
    this.#requestBytes = 'program' in request ? 0 : requestBytes(request);
  }

  /** The program of a terminal session (the room's shell or a REPL), or null for a run. */
  get program(): TerminalProgram | null {
    return this.#program;
  }

  /** The request while it has not been sent; sending takes it (see {@link takeRequest}). */
  get request(): SandboxRequest | null {
    return this.#request;
  }

  /** Hands the request over to be sent, and forgets it. */
  takeRequest(): SandboxRequest {
    const r = this.#request;
    if (r === null) throw new Error(`run ${this.jobId} was sent already`);
    this.#request = null;
    return r;
  }

  /** CPU time from the `exit` event, or null before (or without) one. */
  get cpuMs(): number | null {
    return this.#cpuMs;
  }

  /** Output bytes its replay holds. */
  get replayBytes(): number {
    return this.#log.outputBytes + (this.#finalScreen?.data.length ?? 0);
  }
  get sandboxJobId(): string | null {
    return this.#sandboxJobId;
  }
  /** How the run ended, or null while it has not. */
  get end(): RunEnd | null {
    return this.#end;
  }
  /** Epoch ms when it finished, or null. */
  get finishedAt(): number | null {
    return this.#finishedAt;
  }
  /** Stdin bytes accepted but not yet forwarded to the sandbox. */
  get pendingStdinBytes(): number {
    return this.#pendingStdinBytes;
  }
  get stdinClosed(): boolean {
    return this.#stdinClosed;
  }
  /** The program's wall-clock time from its `exit` event, or null before (or without) one. */
  get wallMs(): number | null {
    return this.#wallMs;
  }
  /** True when the replay dropped output. */
  get truncated(): boolean {
    return this.#log.truncated;
  }

  /** Publishes the queue position (0 = starting now) if it changed. */
  setPosition(position: number): void {
    if (this.#state === 'finished' || position === this.#position) return;
    this.#position = position;
    this.#publish({ type: 'queued', position });
  }

  /** The POST /run is being sent. */
  markStarting(): void {
    this.#state = 'starting';
  }

  /** The sandbox accepted the run: stdin buffered so far may flow now. */
  markRunning(sandboxJobId: string): void {
    this.#sandboxJobId = sandboxJobId;
    this.#state = 'running';
    this.#openStdinGate();
  }

  /**
   * Publishes one sandbox run event, numbered from 0. A file event goes out
   * without its content (watchers read the file in the room; replays hold
   * names and sizes, not files); the content waits for {@link takeFile}.
   */
  pushEvent(event: RunEvent): void {
    if (this.#state === 'finished') return;
    if (event.type === 'exit') {
      this.#wallMs = event.wallMs;
      this.#cpuMs = event.cpuMs;
    }
    const seq = this.#seq++;
    if (event.type === 'file') this.#files.set(seq, event);
    if (this.#screen === null && event.type === 'size') this.#screen = new ScreenModel(event);
    else this.#screen?.observe(seq, event);
    this.#publish({ type: 'event', seq, event: event.type === 'file' ? { ...event, content: '' } : event });
  }

  /** The file event numbered `seq` with its content, once (the run core puts it into the room). */
  takeFile(seq: number): FileEvent | undefined {
    const file = this.#files.get(seq);
    this.#files.delete(seq);
    return file;
  }

  /** Publishes `end`, drops every subscriber and releases waiting stdin. Only the first call counts. */
  finish(end: RunEnd, now: number): void {
    if (this.#state === 'finished') return;
    this.#publish({ type: 'end', ...end });
    if (this.#log.truncated) this.#finalScreen = this.#screen?.snapshot() ?? null;
    this.#screen?.dispose();
    this.#screen = null;
    this.#end = end;
    this.#state = 'finished';
    this.#finishedAt = now;
    this.#request = null;
    this.#subscribers.clear();
    this.#openStdinGate();
  }

  /**
   * Queues a stdin chunk behind earlier ones; `forward` runs once the sandbox
   * job id is known. Resolves when it was forwarded (or skipped because the run
   * ended first).
   */
  enqueueStdin(chunk: { bytes: number; eof: boolean }, forward: (sandboxJobId: string) => Promise<void>): Promise<void> {
    if (chunk.eof) this.#stdinClosed = true;
    this.#pendingStdinBytes += chunk.bytes;
    return this.enqueueInput(forward).finally(() => (this.#pendingStdinBytes -= chunk.bytes));
  }

  /**
   * Queues a call about the running program (stdin, a resize) behind earlier
   * ones; `forward` runs once the sandbox job id is known. Resolves when it was
   * forwarded (or skipped because the run ended first).
   */
  enqueueInput(forward: (sandboxJobId: string) => Promise<void>): Promise<void> {
    const sent = this.#stdinTail.then(() => {
      if (this.#sandboxJobId === null || this.#state === 'finished') return undefined;
      return forward(this.#sandboxJobId);
    });
    this.#stdinTail = sent.catch(() => undefined);
    return sent;
  }

  /** Subscribes to live messages; returns the replay. A finished run only replays. */
  subscribe(subscriber: RunSubscriber): RunSubscription {
    const hello = {
      type: 'hello',
      protocolVersion: GATEWAY_PROTOCOL_VERSION,
      jobId: this.jobId,
      startedBy: this.startedBy,
      truncated: this.#log.truncated,
    } as const;
    // Output was dropped: a terminal's screen as it is now stands for what is left of it.
    const screen = this.#log.truncated ? (this.#finalScreen ?? this.#screen?.snapshot() ?? null) : null;
    const replay = screen ? withScreen(this.#log.snapshot(), screen) : this.#log.snapshot();
    if (this.#state !== 'finished') this.#subscribers.add(subscriber);
    return { hello, replay, unsubscribe: () => void this.#subscribers.delete(subscriber) };
  }

  /** Number of live subscribers. */
  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  #publish(msg: StreamMessage): void {
    this.#log.append(msg);
    for (const sub of [...this.#subscribers]) {
      try {
        sub.send(msg);
      } catch (err) {
        this.#subscribers.delete(sub);
        this.#logger.warn('dropped a stream subscriber that failed', { jobId: this.jobId, error: String(err) });
      }
    }
  }
}
