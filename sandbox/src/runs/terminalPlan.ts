/**
 * Plans for terminals (issue 12): a TTY run's run stage, and terminal sessions
 * (`POST /terminal`: bash, the Python REPL, the Node REPL) of a session's VM.
 * A terminal session is a one-stage run on a pty that the agent runs beside
 * the session's program runs (guest SPEC 3.11), with the run's memory and
 * process limits, no output cap, and an idle timeout (no input for that long)
 * instead of a run timeout.
 * @module
 */
import { CodeCellError, DEFAULT_TERMINAL_SIZE } from '@codecell/protocol';
import type { RuntimeId, TerminalProgram, TerminalRequest } from '@codecell/protocol';
import type { SandboxConfig } from '../config.js';
import { vmMemoryMb } from '../config.js';
import { planFiles } from './runPlan.js';
import type { RunPlan } from './runPlan.js';
import type { PlannedStage } from './stageCommands.js';

/** `$TERM` of programs on a terminal: the browser renders them with xterm.js. */
export const TERMINAL_TERM = 'xterm-256color';
/** A terminal session's output is not capped (it streams with backpressure); this is the agent's counter's start. */
export const TERMINAL_OUTPUT_BYTES = Number.MAX_SAFE_INTEGER;

/**
 * The Python REPL as `python3` starts it on a terminal (banner, readline with
 * tab completion), except that it keeps no history file in `/workspace`
 * (which is the room's: a `.python_history` would appear among its files).
 */
const PYTHON_REPL_STARTUP = [
  'import sys as _s',
  'print("Python %s on %s" % (_s.version, _s.platform))',
  'print(\'Type "help", "copyright", "credits" or "license" for more information.\')',
  "_s.__interactivehook__ = lambda: __import__('readline').parse_and_bind('tab: complete') if __import__('rlcompleter') else None",
  'del _s',
].join('\n');

interface TerminalCommand {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Which runtime's output rules apply (only for the stage's decoding; a terminal has no compile stage). */
  readonly runtime: RuntimeId;
}

/** What each terminal program runs, as the unprivileged user in /workspace. */
export const TERMINAL_COMMANDS: Readonly<Record<TerminalProgram, TerminalCommand>> = Object.freeze({
  // Interactive, not a login shell; Debian's /etc/bash.bashrc sets the prompt. No history file in the room's workspace.
  bash: { argv: ['/bin/bash', '-i'], env: { HISTFILE: '' }, runtime: 'sh' },
  python: { argv: ['/usr/bin/python3', '-i', '-c', PYTHON_REPL_STARTUP], env: {}, runtime: 'py' },
  node: { argv: ['/usr/bin/node'], env: { NODE_REPL_HISTORY: '' }, runtime: 'js' },
});

/** The stages of a TTY run: the run stage (the one on the terminal) gets `$TERM`. */
export function onTerminal(stages: readonly PlannedStage[]): PlannedStage[] {
  return stages.map((s) => (s.name === 'run' ? { ...s, env: { ...s.env, TERM: TERMINAL_TERM } } : s));
}

/** Turns a `POST /terminal` body into a run plan, or a CodeCellError naming the limit. */
export function planTerminal(req: TerminalRequest, c: SandboxConfig): RunPlan {
  const idleTimeoutMs = req.limits?.idleTimeoutMs ?? c.TERMINAL_IDLE_MS;
  if (idleTimeoutMs > c.MAX_TERMINAL_IDLE_MS) {
    throw new CodeCellError('limit_exceeded', `limits.idleTimeoutMs is ${idleTimeoutMs} ms; the most allowed is ${c.MAX_TERMINAL_IDLE_MS} ms (MAX_TERMINAL_IDLE_MS)`);
  }
  const memoryMb = req.limits?.memoryMb ?? c.DEFAULT_MEM_MB;
  if (memoryMb > c.MAX_MEM_MB) throw new CodeCellError('limit_exceeded', `limits.memoryMb is ${memoryMb} MiB; the most allowed is ${c.MAX_MEM_MB} MiB (MAX_MEM_MB)`);
  const cmd = TERMINAL_COMMANDS[req.program];
  return {
    language: cmd.runtime,
    stages: [{ name: 'run', argv: [...cmd.argv], env: { ...cmd.env, TERM: TERMINAL_TERM }, memoryMb, timeoutMs: idleTimeoutMs }],
    shape: { memMb: vmMemoryMb(memoryMb), vcpus: 1 },
    timeoutMs: idleTimeoutMs,
    memoryMb,
    outputBytes: TERMINAL_OUTPUT_BYTES,
    entry: '',
    files: planFiles(req.files ?? [], c),
    stdin: Buffer.alloc(0),
    stdinOpen: true,
    sessionId: req.sessionId,
    // Never prune: a session joins the workspace as it is. Files it creates or changes come back as a run's do (SPEC 3.9).
    prune: false,
    outputFiles: { maxFileBytes: c.OUTPUT_FILE_BYTES, maxRunBytes: c.OUTPUT_FILES_BYTES, maxFiles: c.OUTPUT_FILES },
    tty: req.size ?? { ...DEFAULT_TERMINAL_SIZE },
    terminal: true,
    idleTimeoutMs,
  };
}
