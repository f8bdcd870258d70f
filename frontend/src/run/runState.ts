/**
 * The state of the run shown in the output pane, as a pure reducer: the run
 * controller feeds it user actions and `/stream/<jobId>` messages.
 *
 * Phases: idle → submitting → queued → starting → running → finished, or
 * attaching → (whatever the replay says) for a run started by someone else in
 * the room, or already running when the page loaded.
 * @module
 */
import { formatBytes } from '@codecell/protocol';
import type { Diagnostic, ExitEvent, StageName, StreamMessage, TerminalSize } from '@codecell/protocol';
import type { UserError } from '../api/userError';

export type RunPhase = 'idle' | 'submitting' | 'attaching' | 'queued' | 'starting' | 'running' | 'finished';

/**
 * `stdin` is the local echo of what the user typed (the program's own output
 * never contains it); `stage` a divider line where a compiled run's stage
 * begins ("Compiling…", "Running…"); `file` a note for a file the run wrote.
 */
export type OutputKind = 'stdout' | 'stderr' | 'stdin' | 'stage' | 'file';

export interface OutputChunk {
  /** Stable React key. */
  readonly id: number;
  readonly kind: OutputKind;
  readonly text: string;
  /**
   * True for a TTY run stage's output: the terminal's own bytes (`\r\n`,
   * escape sequences), written to the screen as they are. False for text
   * from pipes (a compile stage, a run without a terminal), whose `\n` the
   * screen turns into a new line.
   */
  readonly raw: boolean;
  /** Where its first character is in everything the run appended (trimming the front moves it on): what a screen wrote already. */
  readonly start: number;
}

/** The stream's last message: how the run ended. */
export interface RunEnd {
  /** A run status (`ok`, `timeout`…) or an error code when the run failed to run. */
  readonly status: string;
  readonly code: number | null;
  readonly message: string | null;
}

/** The `/stream` WebSocket, as far as the page can tell. */
export type ConnectionState = 'none' | 'connecting' | 'open' | 'reconnecting';

export interface RunState {
  readonly phase: RunPhase;
  readonly jobId: string | null;
  /** Place in the gateway's queue while `queued`. */
  readonly position: number | null;
  readonly startedBy: string | null;
  readonly output: readonly OutputChunk[];
  /** Characters held in `output`. */
  readonly outputChars: number;
  /** Characters ever appended to `output` (never goes down; {@link OutputChunk.start} counts in it). */
  readonly appended: number;
  /** True when the page dropped old output to stay under {@link MAX_OUTPUT_CHARS}. */
  readonly trimmed: boolean;
  /** True when the gateway's replay buffer had already dropped early output. */
  readonly truncated: boolean;
  /** Highest event `seq` applied; replays after a reconnect skip what is already here. */
  readonly lastSeq: number;
  /** Epoch ms of the `start` event. */
  readonly startedAt: number | null;
  readonly exit: ExitEvent | null;
  readonly end: RunEnd | null;
  /** The stage running now (from `stage` events); null before the first and for runs without stages. */
  readonly stage: StageName | null;
  /** True once the run had a compile stage (a compiled language). */
  readonly compiled: boolean;
  /** The terminal's size for a TTY run or terminal session (its latest `size` event); null for pipes. */
  readonly tty: TerminalSize | null;
  /** Notes of files a TTY run wrote, held until it exits (its screen is the program's while it runs). */
  readonly heldNotes: string;
  /** The compiler's messages (the `diagnostics` event); shown as editor markers and listed under the output. */
  readonly diagnostics: readonly Diagnostic[];
  /** The run's `error` event: the sandbox could not run it (or lost it midway). */
  readonly failure: { readonly code: string; readonly message: string } | null;
  readonly stdinClosed: boolean;
  readonly stopping: boolean;
  readonly connection: ConnectionState;
  /** Shown as a banner until dismissed or the next run. */
  readonly error: UserError | null;
  readonly nextChunkId: number;
  /** Screens the gateway's replay drew (a `screen` message): a terminal showing the run starts afresh with each. */
  readonly screens: number;
}

export type RunAction =
  | { readonly type: 'submit' }
  | { readonly type: 'submitted'; readonly jobId: string; readonly position: number }
  | { readonly type: 'submitFailed'; readonly error: UserError }
  | { readonly type: 'attach'; readonly jobId: string }
  | { readonly type: 'message'; readonly message: StreamMessage }
  | { readonly type: 'connection'; readonly state: ConnectionState }
  | { readonly type: 'jobGone'; readonly message: string }
  | { readonly type: 'stdinEcho'; readonly text: string }
  | { readonly type: 'stdinClosed' }
  | { readonly type: 'stopRequested' }
  | { readonly type: 'error'; readonly error: UserError }
  | { readonly type: 'dismissError' }
  | { readonly type: 'clearOutput' };

/** The page keeps at most this much output (the sandbox's own cap is usually far lower). */
export const MAX_OUTPUT_CHARS = 2_000_000;

export const initialRunState: RunState = Object.freeze({
  phase: 'idle',
  jobId: null,
  position: null,
  startedBy: null,
  output: [],
  outputChars: 0,
  appended: 0,
  trimmed: false,
  truncated: false,
  lastSeq: -1,
  startedAt: null,
  exit: null,
  end: null,
  stage: null,
  compiled: false,
  tty: null,
  heldNotes: '',
  diagnostics: [],
  failure: null,
  stdinClosed: false,
  stopping: false,
  connection: 'none',
  error: null,
  nextChunkId: 0,
  screens: 0,
});

/** True from Run until the stream's `end`. */
export function isActive(state: RunState): boolean {
  return state.phase !== 'idle' && state.phase !== 'finished';
}

/** True while the program may still read stdin (the gateway buffers it until start). */
export function acceptsStdin(state: RunState): boolean {
  return (state.phase === 'queued' || state.phase === 'starting' || state.phase === 'running') && !state.stdinClosed;
}

export function runReducer(state: RunState, action: RunAction): RunState {
  switch (action.type) {
    case 'submit':
      return { ...initialRunState, phase: 'submitting', nextChunkId: state.nextChunkId };
    case 'submitted':
      return {
        ...state,
        jobId: action.jobId,
        phase: action.position > 0 ? 'queued' : 'starting',
        position: action.position > 0 ? action.position : null,
        connection: 'connecting',
      };
    case 'submitFailed':
      return { ...state, phase: 'idle', error: action.error };
    case 'attach':
      return { ...initialRunState, phase: 'attaching', jobId: action.jobId, connection: 'connecting', nextChunkId: state.nextChunkId };
    case 'message':
      return applyMessage(state, action.message);
    case 'connection':
      return state.phase === 'finished' || state.phase === 'idle' ? state : { ...state, connection: action.state };
    case 'jobGone':
      // Attaching to a run that has since expired (an old one in the room's history): nothing was
      // shown yet, so just start fresh instead of greeting the user with an error.
      if (state.phase === 'attaching') return { ...initialRunState, nextChunkId: state.nextChunkId };
      return {
        ...state,
        phase: state.phase === 'finished' ? 'finished' : 'idle',
        connection: 'none',
        stopping: false,
        error: { code: 'not_found', message: action.message },
      };
    case 'stdinEcho':
      return append(state, { kind: 'stdin', text: action.text });
    case 'stdinClosed':
      return { ...state, stdinClosed: true };
    case 'stopRequested':
      return { ...state, stopping: true };
    case 'error':
      return { ...state, error: action.error };
    case 'dismissError':
      return { ...state, error: null };
    case 'clearOutput':
      return { ...state, output: [], outputChars: 0, trimmed: false };
  }
}

function applyMessage(state: RunState, msg: StreamMessage): RunState {
  switch (msg.type) {
    case 'hello':
      return {
        ...state,
        connection: 'open',
        startedBy: msg.startedBy,
        truncated: state.truncated || msg.truncated,
        phase: state.phase === 'attaching' ? 'starting' : state.phase,
      };
    case 'queued':
      if (state.phase === 'running' || state.phase === 'finished') return state;
      return msg.position > 0
        ? { ...state, phase: 'queued', position: msg.position }
        : { ...state, phase: 'starting', position: null };
    case 'event': {
      if (msg.seq <= state.lastSeq) return state;
      const next = { ...state, lastSeq: msg.seq };
      const ev = msg.event;
      switch (ev.type) {
        case 'start':
          return { ...next, phase: next.phase === 'finished' ? 'finished' : 'running', position: null, startedAt: ev.at };
        case 'stdout':
        case 'stderr':
          // A TTY run's compile stage still runs on pipes; its run stage on the terminal.
          return append(next, { kind: ev.type, text: ev.data, raw: next.tty !== null && next.stage !== 'compile' });
        case 'size':
          return { ...next, tty: { cols: ev.cols, rows: ev.rows } };
        case 'exit':
          return next.heldNotes === '' ? { ...next, exit: ev } : append({ ...next, exit: ev, heldNotes: '' }, { kind: 'file', text: `\n${next.heldNotes}` });
        case 'error':
          return { ...next, failure: { code: ev.code, message: ev.message } };
        case 'file': {
          // A note in the output; the file itself arrives through the room. A terminal's
          // screen is the program's while it runs: there the notes wait for its exit.
          const note = `${ev.truncated ? '✗' : '→'} ${ev.path} (${formatBytes(ev.size)}${ev.truncated ? ', too large to bring back' : ''})\n`;
          return next.tty !== null ? { ...next, heldNotes: next.heldNotes + note } : append(next, { kind: 'file', text: note });
        }
        case 'stage':
          // `cached` is there once the sandbox replays unchanged builds (issue 10 sandbox side).
          return applyStage(next, ev.name, 'cached' in ev && ev.cached === true);
        case 'diagnostics':
          return { ...next, diagnostics: ev.diagnostics };
      }
      return next;
    }
    case 'screen': {
      // The terminal as it is after event `seq`, standing for the output up to it (the replay dropped early output).
      if (msg.seq <= state.lastSeq) return state;
      const cleared = { ...state, output: [], outputChars: 0, lastSeq: msg.seq, truncated: true, tty: { cols: msg.cols, rows: msg.rows }, screens: state.screens + 1 };
      return append(cleared, { kind: 'stdout', text: msg.data, raw: true });
    }
    case 'end':
      return {
        ...state,
        phase: 'finished',
        position: null,
        stopping: false,
        connection: 'none',
        end: { status: msg.status, code: msg.code, message: msg.message },
      };
  }
}

/** Words of a stage divider. */
export function stageLabel(name: StageName, cached: boolean): string {
  if (name === 'compile') return cached ? 'Compiling… (unchanged since the last run: reusing that build)' : 'Compiling…';
  return 'Running…';
}

/**
 * A stage begins. Only compiled runs get divider lines (a run stage alone
 * needs none: the status pill says Running).
 */
function applyStage(state: RunState, name: StageName, cached: boolean): RunState {
  const compiled = state.compiled || name === 'compile';
  const next = { ...state, stage: name, compiled };
  return compiled ? append(next, { kind: 'stage', text: stageLabel(name, cached) }) : next;
}

/** Appends text, merging with the previous chunk of the same kind (but dividers), and trims old output past the cap. */
function append(state: RunState, add: { readonly kind: OutputKind; readonly text: string; readonly raw?: boolean }): RunState {
  const { kind, text } = add;
  const raw = add.raw ?? false;
  if (text === '') return state;
  const output = state.output.slice();
  const last = output[output.length - 1];
  let nextChunkId = state.nextChunkId;
  if (last && last.kind === kind && last.raw === raw && kind !== 'stage') {
    output[output.length - 1] = { ...last, text: last.text + text };
  } else {
    output.push({ id: nextChunkId++, kind, text, raw, start: state.appended });
  }
  let outputChars = state.outputChars + text.length;
  let trimmed = state.trimmed;
  while (outputChars > MAX_OUTPUT_CHARS && output.length > 0) {
    const first = output[0]!;
    const excess = outputChars - MAX_OUTPUT_CHARS;
    trimmed = true;
    if (first.text.length <= excess) {
      output.shift();
      outputChars -= first.text.length;
    } else {
      output[0] = { ...first, text: first.text.slice(excess), start: first.start + excess };
      outputChars -= excess;
    }
  }
  return { ...state, output, outputChars, appended: state.appended + text.length, trimmed, nextChunkId };
}
