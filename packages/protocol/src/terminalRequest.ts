/**
 * Body of `POST /terminal` (issue 12): a terminal session of a session's VM.
 * Apart from terminal.ts because it names workspace files (sandboxApi.ts,
 * which itself uses terminal.ts).
 * @module
 */
import { z } from 'zod';
import { workspaceFileSchema } from './sandboxApi.js';
import { terminalProgramSchema, terminalSizeSchema } from './terminal.js';

/** Body of `POST /terminal`. */
export const terminalRequestSchema = z.strictObject({
  /** The session (room) whose VM and `/workspace` the terminal shares with its runs. */
  sessionId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'sessionId must be 1-64 of [A-Za-z0-9_-]'),
  program: terminalProgramSchema,
  /**
   * Files written into `/workspace` before the program starts (the room's, so
   * its shell sees them without a run first); files already there stay.
   */
  files: z.array(workspaceFileSchema).optional(),
  /** Default 80 × 24. */
  size: terminalSizeSchema.optional(),
  limits: z
    .strictObject({
      /** Ends the session after this long without input, ms (default TERMINAL_IDLE_MS). */
      idleTimeoutMs: z.int().positive().optional(),
      /** Memory of the session's processes (guest cgroup `memory.max`), MiB (default DEFAULT_MEM_MB). */
      memoryMb: z.int().positive().optional(),
    })
    .optional(),
});
export type TerminalRequest = z.infer<typeof terminalRequestSchema>;

