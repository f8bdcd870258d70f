/**
 * Frames between the host and the guest agent (see guest/SPEC.md).
 *
 * Wire format, identical over virtio-serial (QEMU) and vsock (Firecracker):
 * `u32 BE length` (of what follows) · `u8 type` · body. Control frames carry a
 * UTF-8 JSON body; data frames (stdin, stdout, stderr) carry `u32 BE runId` and raw bytes.
 * @module
 */
import { z } from 'zod';

/** Bumped on any incompatible change; the agent reports its own in `ready`. */
export const AGENT_PROTOCOL_VERSION = 1;

/** Frame type bytes. */
export const FrameType = {
  ready: 1,
  exec: 2,
  stdin: 3,
  signal: 4,
  stdout: 5,
  stderr: 6,
  exit: 7,
  reseed: 8,
  error: 9,
  ping: 10,
  pong: 11,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Frame types whose body is `u32 runId` + raw bytes instead of JSON. */
export const DATA_FRAME_TYPES: ReadonlySet<number> = new Set([
  FrameType.stdin,
  FrameType.stdout,
  FrameType.stderr,
]);

/** Largest frame the host accepts from a guest (data chunks are at most 64 KiB). */
export const MAX_GUEST_FRAME_BYTES = 1024 * 1024;

/** Guest → host, once the agent can take `exec`; again after each `reseed`. */
export const readyFrameSchema = z.object({
  version: z.int(),
  python: z.string(),
  /** Guest monotonic ms since boot when ready was sent. */
  uptimeMs: z.number(),
});
export type ReadyFrame = z.infer<typeof readyFrameSchema>;

/** Host → guest: run a program. Files are base64 so any bytes survive. */
export const execFrameSchema = z.object({
  runId: z.int().nonnegative(),
  /** argv after the interpreter, e.g. `["main.py"]`. */
  entry: z.string(),
  files: z.array(z.object({ path: z.string(), contentB64: z.string() })),
  /** Initial stdin, base64. */
  stdinB64: z.string(),
  stdinOpen: z.boolean(),
  limits: z.object({
    memoryBytes: z.int().positive(),
    pids: z.int().positive(),
    outputBytes: z.int().positive(),
    fileSizeBytes: z.int().positive(),
    openFiles: z.int().positive(),
  }),
});
export type ExecFrame = z.infer<typeof execFrameSchema>;

export const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGKILL'] as const;
/** Host → guest: signal the run's whole process tree. */
export const signalFrameSchema = z.object({
  runId: z.int().nonnegative(),
  signal: z.enum(SIGNALS),
});
export type SignalFrame = z.infer<typeof signalFrameSchema>;

/** Guest → host: the run ended; every stdout/stderr frame of the run came before it. */
export const exitFrameSchema = z.object({
  runId: z.int().nonnegative(),
  code: z.int().nullable(),
  signal: z.string().nullable(),
  cpuMs: z.number(),
  wallMs: z.number(),
  maxRssKb: z.number(),
  oomKilled: z.boolean(),
  outputLimited: z.boolean(),
});
export type ExitFrame = z.infer<typeof exitFrameSchema>;

/** Host → guest after a snapshot restore: mix in entropy and set the clock. */
export const reseedFrameSchema = z.object({
  entropyB64: z.string(),
  /** Host wall clock, epoch ms. */
  nowMs: z.number(),
});
export type ReseedFrame = z.infer<typeof reseedFrameSchema>;

/** Guest → host: something the agent could not do. */
export const agentErrorFrameSchema = z.object({
  runId: z.int().nonnegative().nullable(),
  message: z.string(),
});
export type AgentErrorFrame = z.infer<typeof agentErrorFrameSchema>;

export const pingFrameSchema = z.object({ seq: z.int() });
export type PingFrame = z.infer<typeof pingFrameSchema>;
