/**
 * What a fleet host needs from the sandbox: start a run (or terminal session) and get its events,
 * type stdin into it, resize its terminal, kill it, the host's counts and its runtimes. `RunService` (real VMs)
 * implements it; unit tests of the fleet give a fake.
 * @module
 */
import type { RunEvent, RunRequest, RuntimeId, TerminalRequest, TerminalSize } from '@codecell/protocol';
import type { HostStats } from './HostRegistration.js';

/** One started run. */
export interface HostRun {
  /** The sandbox's own job id. */
  readonly jobId: string;
  /** Its events, ending with `exit` (or `error` when it failed before it started). Iterate once. */
  readonly events: AsyncIterable<RunEvent>;
  /** @throws CodeCellError run_finished, stdin_closed */
  sendStdin(data: string, eof: boolean): void;
  /**
   * A TTY run's new terminal size (SIGWINCH); one that comes before the program starts is kept for it.
   * @throws CodeCellError run_finished, not_a_terminal
   */
  resize(size: TerminalSize): void;
  /** @throws CodeCellError run_finished */
  kill(): void;
}

/** Starts runs on this host. */
export interface HostRunner {
  /** @throws CodeCellError invalid_request, limit_exceeded, capacity_exceeded, sandbox_unavailable */
  start(request: RunRequest): HostRun;
  /**
   * Opens a terminal session (shell, REPL) in the session's VM; it takes no run slot.
   * @throws CodeCellError limit_exceeded, capacity_exceeded (MAX_SESSIONS, or too many terminals in the session), sandbox_unavailable
   */
  startTerminal(request: TerminalRequest): HostRun;
  /** The host's counts (capacity is MAX_CONCURRENT_RUNS). */
  stats(): HostStats;
  /** The runtimes its guest image has, with their versions (what `GET /runtimes` lists). */
  runtimes(): Readonly<Partial<Record<RuntimeId, string>>>;
}
