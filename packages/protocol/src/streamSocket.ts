/**
 * The page's stream socket, `ws /stream` (issue 12): one WebSocket a page
 * opens once and keeps, on which it starts runs, watches any number of runs
 * and terminal sessions, types into them and resizes them. A run's messages
 * are the `ws /stream/<jobId>` messages ({@link streamMessageSchema}), each
 * wrapped in `{type: 'job', jobId, message}`. Starting a run here costs one
 * message: the events come back on the same socket, with no `runCode` round
 * trip before the stream can open (gateway SPEC S10-S14).
 * @module
 */
import { z } from 'zod';
import { errorCodeSchema } from './errors.js';
import { jobIdSchema, roomIdSchema, streamMessageSchema } from './gatewayApi.js';
import { workspaceFileSchema } from './sandboxApi.js';
import { terminalProgramSchema, terminalSizeSchema } from './terminal.js';

/** Path of the page's stream socket on the gateway. */
export const STREAM_SOCKET_PATH = '/stream';
/** Runs and terminals one socket may watch at once. */
export const MAX_WATCHED_PER_SOCKET = 32;

/** A client-chosen tag that the answer (`accepted` / `refused`) repeats. */
const refSchema = z.string().min(1).max(64);

/** Client → gateway. */
export const streamClientMessageSchema = z.discriminatedUnion('type', [
  /** Starts a run (the `runCode` input, checked like `runCode`'s) and watches it. Answer: `accepted` or `refused`. */
  z.strictObject({ type: z.literal('run'), ref: refSchema, input: z.unknown() }),
  /** Watches a run or terminal session: its `hello`, replay, then live messages, as `job` messages. */
  z.strictObject({ type: z.literal('watch'), jobId: jobIdSchema }),
  z.strictObject({ type: z.literal('unwatch'), jobId: jobIdSchema }),
  /** Types into a run or terminal session (runners and above). */
  z.strictObject({
    type: z.literal('stdin'),
    jobId: jobIdSchema,
    data: z.string().max(64 * 1024, 'send at most 64 KiB of stdin at a time'),
    eof: z.boolean().optional(),
  }),
  /** Resizes a TTY run or terminal session (runners and above); everyone watching gets its `size` event. */
  z.strictObject({ type: z.literal('resize'), jobId: jobIdSchema, cols: terminalSizeSchema.shape.cols, rows: terminalSizeSchema.shape.rows }),
  z.strictObject({ type: z.literal('stop'), jobId: jobIdSchema }),
  /**
   * Opens the room's terminal session of `program` (runners and above), or
   * joins it when one is open: the room shares one of each, like tmux.
   * Answer: `accepted` with its jobId (then watch it), or `refused`.
   */
  z.strictObject({
    type: z.literal('terminal'),
    ref: refSchema,
    roomId: roomIdSchema,
    program: terminalProgramSchema,
    size: terminalSizeSchema,
    /** The room's files, written into `/workspace` when this opens a new session (not when it joins one). */
    files: z.array(workspaceFileSchema).optional(),
  }),
  /** Follows which terminal sessions the room has open (viewers and above): `terminals` now and on every change. */
  z.strictObject({ type: z.literal('terminals'), roomId: roomIdSchema }),
]);
export type StreamClientMessage = z.infer<typeof streamClientMessageSchema>;

/** A terminal session a room has open. */
export const openTerminalSchema = z.strictObject({
  program: terminalProgramSchema,
  jobId: jobIdSchema,
  startedBy: z.string().nullable(),
});
export type OpenTerminal = z.infer<typeof openTerminalSchema>;

/** Gateway → client. */
export const streamServerMessageSchema = z.discriminatedUnion('type', [
  /** First message. */
  z.strictObject({ type: z.literal('ready'), protocolVersion: z.int() }),
  /** A `run` or `terminal` was accepted: its jobId (a run's is watched already) and queue position. */
  z.strictObject({ type: z.literal('accepted'), ref: refSchema, jobId: jobIdSchema, position: z.int().nonnegative() }),
  /** A request failed; `ref` (run, terminal) or `jobId` (stdin, resize, stop) says which. */
  z.strictObject({ type: z.literal('refused'), ref: refSchema.nullable(), jobId: jobIdSchema.nullable(), code: errorCodeSchema, message: z.string() }),
  /** A message of a watched run (as on `ws /stream/<jobId>`). */
  z.strictObject({ type: z.literal('job'), jobId: jobIdSchema, message: streamMessageSchema }),
  /** A watched run is not (or no longer) available: unknown, expired, access revoked, or its socket fell behind. */
  z.strictObject({ type: z.literal('gone'), jobId: jobIdSchema, code: errorCodeSchema, message: z.string() }),
  /** The terminal sessions a followed room has open. */
  z.strictObject({ type: z.literal('terminals'), roomId: roomIdSchema, open: z.array(openTerminalSchema) }),
]);
export type StreamServerMessage = z.infer<typeof streamServerMessageSchema>;
