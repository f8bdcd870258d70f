/**
 * The ports of the run core (house style: ports owned by the core). The run
 * queue, the run event log (with replay) and the stdin/kill channel are
 * interfaces here; `local/` implements them in this process (the embedded
 * default, feeding one sandbox over HTTP through {@link SandboxApi}) and
 * `../fleet/` implements them on Redis (BullMQ, Streams) for many gateways
 * and many sandbox hosts. Nothing here knows a transport.
 *
 * Admission (one point): a queue admits runs into the line (MAX_QUEUED_RUNS,
 * MAX_QUEUED_BYTES, after the quota extensions); a sandbox host admits runs
 * into execution, up to its own MAX_CONCURRENT_RUNS, by taking them from the
 * queue. The gateway itself never limits how many run at once.
 * @module
 */
import type { FileEvent, Health, OpenTerminal, RunEvent, RunRequest, StdinRequest, StreamMessage, TerminalRequest, TerminalSize } from '@codecell/protocol';
import type { RunOwner } from './types.js';

/** A started `POST /run`: the sandbox's job id and its events in order. */
export interface SandboxRunHandle {
  /** The sandbox's `X-Job-Id`. */
  readonly jobId: string;
  /**
   * Run events as the sandbox sends them. Iterate once. Throws CodeCellError
   * `sandbox_unavailable` when the connection breaks; leaving the loop early
   * closes the connection, which makes the sandbox kill the run.
   */
  readonly events: AsyncIterable<RunEvent>;
}

/**
 * What the in-process backend needs from one sandbox (the HTTP client
 * implements it; a fake in unit tests). `onSent` of a streamed call is told
 * once its request was handed to the operating system (work that can wait
 * may then begin without delaying it).
 */
export interface SandboxApi {
  run(body: RunRequest, signal?: AbortSignal, onSent?: () => void): Promise<SandboxRunHandle>;
  /** `POST /terminal`: a terminal session (shell, REPL) in the session's VM, streamed like a run. */
  terminal(body: TerminalRequest, signal?: AbortSignal, onSent?: () => void): Promise<SandboxRunHandle>;
  sendStdin(jobId: string, body: StdinRequest, signal?: AbortSignal): Promise<void>;
  /** `POST /run/<jobId>/resize` of a TTY run or terminal session. */
  resize(jobId: string, size: TerminalSize, signal?: AbortSignal): Promise<void>;
  kill(jobId: string, signal?: AbortSignal): Promise<void>;
  health(signal?: AbortSignal): Promise<Health>;
  /**
   * `GET /runtimes`: the runtimes the sandbox's guest image has, each with its
   * version. A sandbox older than issue 10 answers `not_found`.
   */
  runtimes(signal?: AbortSignal): Promise<SandboxRuntime[]>;
}

/** One entry of the sandbox's `GET /runtimes`, as far as the gateway reads it. */
export interface SandboxRuntime {
  /** A runtime id; one this gateway does not know (a newer sandbox) is passed through and ignored later. */
  readonly id: string;
  /** The image manifest's version, or `unknown`. */
  readonly version: string;
}

/** The last message of a run. */
export type EndMessage = Extract<StreamMessage, { type: 'end' }>;
/** How a run ended, without the `type` tag. */
export type RunEnd = Omit<EndMessage, 'type'>;
/** Lifecycle of a run: queued → starting (sent to a host) → running (the host started it) → finished. */
export type RunState = 'queued' | 'starting' | 'running' | 'finished';

/** Who and what a run is; fixed when it is submitted. */
export interface RunFacts {
  readonly jobId: string;
  /** The room (sandbox session) it runs in, if any. */
  readonly sessionId: string | undefined;
  readonly startedBy: string | null;
  readonly owner: RunOwner | null;
  /** Epoch ms. */
  readonly submittedAt: number;
  /** A terminal session (a room's shell or REPL), not a run. @default false */
  readonly terminal?: boolean;
}

/** A run as its log knows it now. */
export interface RunInfo extends RunFacts {
  readonly state: RunState;
  readonly end: RunEnd | null;
}

/** Receives a run's live messages. Throwing unsubscribes it. */
export interface RunSubscriber {
  send(msg: StreamMessage): void;
}

/** What a new subscriber gets: the `hello` fields, the replay, and how to leave. */
export interface RunSubscription {
  readonly hello: Extract<StreamMessage, { type: 'hello' }>;
  /** Messages already sent, oldest first; ends with `end` when the run is over. */
  readonly replay: StreamMessage[];
  /** Stops live delivery. Safe to call twice. */
  unsubscribe(): void;
}

/** A run handed to the queue. */
export interface QueuedRun {
  readonly facts: RunFacts;
  readonly request: RunRequest;
}

/** A run the queue accepted. */
export interface Enqueued {
  /** 0 when a host takes it at once, n when n-th in line. */
  readonly position: number;
  /**
   * Resolves once a run that starts at once has left for its sandbox (at once
   * for one that waits): the run core records the run in its room then, so
   * that work cannot delay the request. Never rejects.
   */
  readonly sent: Promise<void>;
}

/** The line runs wait in until a host takes them. */
export interface RunQueuePort {
  /**
   * Puts a run in line (its log is open already).
   * @throws CodeCellError capacity_exceeded (the line is full), sandbox_unavailable (no host at all, Redis down)
   */
  enqueue(run: QueuedRun): Promise<Enqueued>;
  /** Takes a run that no host took yet out of line; false when it left the line already (or never was). */
  cancel(jobId: string): Promise<boolean>;
  /** Runs waiting in line (every gateway's, in fleet mode). */
  depth(): Promise<number>;
}

/** The ordered messages of each run, for any number of subscribers, with replay. */
export interface RunLogPort {
  /** Starts the log of a new run. */
  open(facts: RunFacts): Promise<void>;
  /** Forgets a run the queue refused (it never existed for anyone). */
  discard(jobId: string): Promise<void>;
  /** Ends a run that has no host to end it (stopped while queued, its host died); false when it had ended. */
  finish(jobId: string, end: RunEnd, error?: Extract<RunEvent, { type: 'error' }>): Promise<boolean>;
  /** The run while it is retained; undefined when unknown or expired. */
  info(jobId: string): Promise<RunInfo | undefined>;
  /** Subscribes; undefined when the jobId is unknown or expired. */
  subscribe(jobId: string, subscriber: RunSubscriber): Promise<RunSubscription | undefined>;
  /** Runs of the room that have not finished. */
  unfinished(roomId: string): Promise<string[]>;
  /**
   * The file event numbered `seq` with its content (subscribers get file
   * events without it). Taken once: by the gateway that follows the run, to
   * put the file into the room. Undefined when taken already or expired.
   */
  takeFile(jobId: string, seq: number): Promise<FileEvent | undefined>;
  /**
   * This gateway no longer follows the run (its end was handled): in a
   * fleet, nobody needs to adopt it. True when this gateway held it: only
   * then is its end charged here (another that adopted it meanwhile charges
   * it instead). Optional: one process holds all its runs.
   */
  release?(jobId: string): Promise<boolean>;
}

/** The channel to a running run's host: stdin, resize (TTY runs), kill. */
export interface RunControlPort {
  /**
   * Sends stdin. Before the run starts it waits for the host (and this resolves at once).
   * @throws CodeCellError not_found, run_finished, stdin_closed, payload_too_large
   */
  sendStdin(jobId: string, chunk: StdinRequest, signal?: AbortSignal): Promise<void>;
  /**
   * Resizes a TTY run's (or terminal session's) terminal; forwarded once the run runs.
   * @throws CodeCellError not_found, run_finished, not_a_terminal
   */
  resize(jobId: string, size: TerminalSize, signal?: AbortSignal): Promise<void>;
  /** Kills a run a host took (starting or running); nothing for a finished one. */
  kill(jobId: string, signal?: AbortSignal): Promise<void>;
}

/** Counts for health, metrics and tests (this gateway's view). */
export interface RunStats {
  readonly queued: number;
  readonly active: number;
  readonly retained: number;
  /** Bytes of the requests waiting in the queue (in-process only; 0 in fleet mode). */
  readonly queuedBytes: number;
  /** Bytes of requests held by runs of any state (only queued or starting runs hold one). */
  readonly heldRequestBytes: number;
  /** Replay output held by finished runs. */
  readonly retainedReplayBytes: number;
}

/** A room's terminal session as {@link TerminalPort.open} found or started it. */
export interface OpenedTerminal {
  readonly session: OpenTerminal;
  /** True when this call started it; false when it joined the one open already. */
  readonly started: boolean;
}

/**
 * Terminal sessions (a room's shell or REPL, issue 12): at most one per
 * program per room, shared like tmux, started at once in the room's VM beside
 * the queue (they hold no run slot). Their log and control are the backend's
 * (stream, stdin, resize, kill by jobId). In a fleet every gateway sees the
 * same sessions.
 */
export interface TerminalPort {
  /**
   * The room's session of `request.program`: the open one, else a new one
   * (`facts` name it; `files` are written first).
   * @throws CodeCellError sandbox_unavailable (shutting down, no host), capacity_exceeded
   */
  open(o: { readonly facts: RunFacts; readonly request: TerminalRequest }): Promise<OpenedTerminal>;
  /** The room's open sessions. */
  list(roomId: string): Promise<OpenTerminal[]>;
  /**
   * Calls `onChange` (which must not throw) when a session of the room was
   * opened, by any gateway; ends may be told as well (watchers follow each
   * session's log for its end). Returns how to stop; safe to call twice.
   */
  watch(roomId: string, onChange: () => void): () => void;
}

/** The three ports together, as one deployment provides them. */
export interface RunBackend {
  readonly queue: RunQueuePort;
  readonly log: RunLogPort;
  readonly control: RunControlPort;
  /** The rooms' terminal sessions. */
  readonly terminals: TerminalPort;
  /** This process's counts. */
  stats(): RunStats;
  /** Ends what this process owns: queued runs end `killed`, running ones are aborted (in-process) or left to their hosts (fleet). */
  dispose(): Promise<void>;
}

/** Stdin that may wait for a run to start, bytes. */
export const MAX_PENDING_STDIN_BYTES = 1024 * 1024;
