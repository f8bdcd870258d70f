/**
 * Terminals (issue 12): TTY runs, their size and resizes, and the terminal
 * sessions of a room (a shared shell, a Python or Node REPL). The sandbox API
 * routes are:
 *
 * | route | body | answer |
 * | --- | --- | --- |
 * | `POST /run` with `tty` | {@link ttyOptionSchema} in the run request | as any run; stdout carries the terminal's bytes (stderr merged) |
 * | `POST /run/<jobId>/resize` | {@link resizeRequestSchema} | 202 `{jobId, cols, rows}`; `not_a_terminal` for a pipe run |
 * | `POST /terminal` | `terminalRequestSchema` (terminalRequest.ts) | NDJSON run events like `POST /run`, header `X-Job-Id`; stdin, resize and kill through the `/run/<jobId>/…` routes |
 * @module
 */
import { z } from 'zod';

/** Columns and rows of a new terminal when the request says only `tty: true`. */
export const DEFAULT_TERMINAL_SIZE = Object.freeze({ cols: 80, rows: 24 });
/** Largest number of columns or rows a terminal may have. */
export const MAX_TERMINAL_SIZE = 1000;

const dimension = (name: string) =>
  z
    .int(`${name} must be a whole number`)
    .min(1, `${name} must be at least 1`)
    .max(MAX_TERMINAL_SIZE, `${name} must be at most ${MAX_TERMINAL_SIZE}`);

/** A terminal's size in character cells. */
export const terminalSizeSchema = z.strictObject({ cols: dimension('cols'), rows: dimension('rows') });
export type TerminalSize = z.infer<typeof terminalSizeSchema>;

/**
 * `tty` of a run request: `true` (80 × 24), a size, or `false` (pipes, the
 * default: stdout and stderr separate).
 */
export const ttyOptionSchema = z.union([z.boolean(), terminalSizeSchema]);
export type TtyOption = z.infer<typeof ttyOptionSchema>;

/** The terminal size a `tty` option asks for, or null for pipes. */
export function ttySize(tty: TtyOption | undefined): TerminalSize | null {
  if (tty === undefined || tty === false) return null;
  return tty === true ? { ...DEFAULT_TERMINAL_SIZE } : tty;
}

/** Body of `POST /run/<jobId>/resize`: the program gets SIGWINCH when the size changed. */
export const resizeRequestSchema = terminalSizeSchema;
export type ResizeRequest = z.infer<typeof resizeRequestSchema>;

/**
 * Programs a terminal session runs: `bash` (a shell), `python` (the Python
 * REPL), `node` (the Node REPL). Each runs as the unprivileged user in
 * `/workspace` of the session's VM.
 */
export const TERMINAL_PROGRAMS = ['bash', 'python', 'node'] as const;
export const terminalProgramSchema = z.enum(TERMINAL_PROGRAMS);
export type TerminalProgram = z.infer<typeof terminalProgramSchema>;

/**
 * Run event of a TTY run or terminal session: the terminal's size, sent after
 * `start` and after each resize. Viewers draw the screen at this size.
 */
export const sizeEventSchema = z.strictObject({ type: z.literal('size'), cols: z.int().positive(), rows: z.int().positive() });
export type SizeEvent = z.infer<typeof sizeEventSchema>;

/** Host → guest: a TTY run's new size (agent frame `resize`). */
export const resizeFrameSchema = z.object({
  runId: z.int().nonnegative(),
  cols: z.int().positive(),
  rows: z.int().positive(),
});
export type ResizeFrame = z.infer<typeof resizeFrameSchema>;

/** The exec frame's terminal fields (agentFrames.ts). */
export const execTerminalFieldsSchema = z.object({
  /** The last stage runs on a pty of this size (SPEC 3.10). */
  tty: terminalSizeSchema.optional(),
  /** A terminal session: runs beside the VM's one program run (SPEC 3.11). */
  terminal: z.boolean().optional(),
});
