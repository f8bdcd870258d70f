/**
 * Frames between the host and the guest agent (see guest/SPEC.md).
 *
 * Wire format, identical over virtio-serial (QEMU) and vsock (Firecracker):
 * `u32 BE length` (of what follows) · `u8 type` · body. Control frames carry a
 * UTF-8 JSON body; data frames (stdin, stdout, stderr) carry `u32 BE runId` and raw bytes.
 * @module
 */
import { z } from 'zod';
import { WARM_KINDS } from './runtimes.js';
import { stageNameSchema } from './sandboxApi.js';
import { execTerminalFieldsSchema } from './terminal.js';

/**
 * Bumped on any incompatible change; the agent reports its own in `ready` and
 * the host refuses an agent of another version (2: exec frames carry stages
 * with argv; 3: the workspace is pruned and files the run wrote come back;
 * 4: TTY runs, terminal sessions beside the run, the resize frame).
 */
export const AGENT_PROTOCOL_VERSION = 4;

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
  stage: 12,
  prime: 13,
  file: 14,
  content: 15,
  /** Host → guest: a TTY run's new size ({@link resizeFrameSchema} in terminal.ts). */
  resize: 16,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Frame types whose body is `u32 runId` + raw bytes instead of JSON. */
export const DATA_FRAME_TYPES: ReadonlySet<number> = new Set([
  FrameType.stdin,
  FrameType.stdout,
  FrameType.stderr,
  FrameType.content,
]);

/** Largest frame the host accepts from a guest (data chunks are at most 64 KiB). */
export const MAX_GUEST_FRAME_BYTES = 1024 * 1024;

/** Guest → host, once the agent can take `exec`; again after each `reseed`. */
export const readyFrameSchema = z.object({
  version: z.int(),
  /** Version of the agent's own interpreter (Python's fast path). */
  python: z.string().optional(),
  /** Guest monotonic ms since boot when ready was sent. */
  uptimeMs: z.number(),
  /** Runtimes started ahead of the next request (SPEC 3.6), and whether each is primed yet. */
  warm: z.array(z.object({ kind: z.enum(WARM_KINDS), ready: z.boolean() })).optional(),
  /** The `seq` of the ping, reseed or prime this answers (absent in the `ready` sent at start). */
  seq: z.int().optional(),
});
export type ReadyFrame = z.infer<typeof readyFrameSchema>;

/** One stage of a run: a real argv, run in `/workspace` as the unprivileged user. */
export const execStageSchema = z.object({
  name: stageNameSchema,
  argv: z.array(z.string()).min(1),
  /** Added to the run's environment. */
  env: z.record(z.string(), z.string()),
  /** Guest cgroup `memory.max` of this stage. */
  memoryBytes: z.int().positive(),
  /** The agent may run this stage in a process of `kind` started ahead with `argv.slice(0, prefix)` (SPEC 3.6). */
  warm: z.object({ kind: z.enum(WARM_KINDS), prefix: z.int().positive() }).optional(),
});
export type ExecStage = z.infer<typeof execStageSchema>;

/**
 * Host → guest: run a program. Files are base64 so any bytes survive; they are
 * written before the first stage. A stage starts only when the one before it
 * exited 0; the run's stdin goes to the last stage.
 */
export const execFrameSchema = execTerminalFieldsSchema.extend({
  runId: z.int().nonnegative(),
  files: z.array(z.object({ path: z.string(), contentB64: z.string() })),
  /** Initial stdin, base64. */
  stdinB64: z.string(),
  stdinOpen: z.boolean(),
  stages: z.array(execStageSchema).min(1).max(2),
  /** Created empty, owned by the run's user, before the first stage (where compilers write). */
  buildDir: z.string().optional(),
  /**
   * Before writing `files`, delete every other file under /workspace (except
   * tool state: {@link WORKSPACE_IGNORED_DIRS}), so the workspace holds exactly
   * the request's files, as the room does (issue 11).
   */
  prune: z.boolean().optional(),
  /** Report files the run creates or changes under /workspace as `file` frames, within these caps (absent: none). */
  outputFiles: z
    .object({
      /** Largest file sent with its content; larger ones are reported as truncated. */
      maxFileBytes: z.int().nonnegative(),
      /** Content bytes sent per run in all; past them files are reported as truncated. */
      maxRunBytes: z.int().nonnegative(),
      /** Files reported per run at most. */
      maxFiles: z.int().nonnegative(),
    })
    .optional(),
  /** Limits of every stage. */
  limits: z.object({
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

/** Guest → host: a stage starts; the output frames that follow belong to it. */
export const stageFrameSchema = z.object({
  runId: z.int().nonnegative(),
  name: stageNameSchema,
  /** True when the stage runs in a process started ahead of the request. */
  warm: z.boolean(),
  /** True when a compile is replayed from the VM's build cache instead of run (SPEC 3.8). */
  cached: z.boolean().optional(),
});
export type StageFrame = z.infer<typeof stageFrameSchema>;

/** How one stage's process ended. */
export const stageExitSchema = z.object({
  code: z.int().nullable(),
  signal: z.string().nullable(),
  cpuMs: z.number(),
  wallMs: z.number(),
  maxRssKb: z.number(),
  oomKilled: z.boolean(),
});

/**
 * Guest → host: the run ended with the exit of `stage` (a failed compile ends
 * the run); every stdout/stderr frame of the run came before it.
 */
export const exitFrameSchema = stageExitSchema.extend({
  runId: z.int().nonnegative(),
  stage: stageNameSchema,
  outputLimited: z.boolean(),
  /** The compile stage's exit, when it succeeded and the run stage followed. */
  compile: stageExitSchema.optional(),
});
export type ExitFrame = z.infer<typeof exitFrameSchema>;

/**
 * Directory names whose contents are never reported as output files nor
 * pruned: tool state programs keep in $HOME (= /workspace) and caches.
 */
export const WORKSPACE_IGNORED_DIRS = ['__pycache__', '.cache', '.config', '.local', 'node_modules'] as const;

/**
 * Guest → host: a file the run created or changed under /workspace. Unless
 * `truncated`, exactly `size` bytes of content follow in `content` frames
 * (`u32 runId` + bytes), before any other frame of the run.
 */
export const fileFrameSchema = z.object({
  runId: z.int().nonnegative(),
  path: z.string(),
  size: z.int().nonnegative(),
  truncated: z.boolean(),
});
export type FileFrame = z.infer<typeof fileFrameSchema>;

/** Host → guest after a snapshot restore: mix in entropy and set the clock. */
export const reseedFrameSchema = z.object({
  /** Echoed in the `ready` that answers it, so an earlier ready or pong is never taken for it. */
  seq: z.int(),
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

/**
 * Host → guest, to a VM about to become a snapshot template: load what every
 * clone should have loaded (SPEC 3.7), then send `ready`. Cold-booted VMs that
 * are not templates skip it, so their boot stays short.
 */
export const primeFrameSchema = z.object({
  /** Echoed in the `ready` that answers it (late pongs to the boot pings must not count). */
  seq: z.int(),
});
export type PrimeFrame = z.infer<typeof primeFrameSchema>;

export const pingFrameSchema = z.object({ seq: z.int() });
export type PingFrame = z.infer<typeof pingFrameSchema>;
