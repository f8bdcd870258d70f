/**
 * The sandbox's HTTP API:
 *
 * | route | body | answer |
 * | --- | --- | --- |
 * | `POST /run` | {@link runRequestSchema} | NDJSON {@link runEventSchema} lines, header `X-Job-Id` |
 * | `POST /run/<jobId>/stdin` | {@link stdinRequestSchema} | 202 `{jobId, bytes, eof}` |
 * | `POST /run/<jobId>/kill` | none | 202 `{jobId, state: "killing"}` |
 * | `POST /run/<jobId>/resize`, `POST /terminal` | see terminal.ts | TTY runs and terminal sessions |
 * | `GET /runtimes` | — | `runtimesResponseSchema` (runtimes.ts): the runtime table, each `version` from the guest image's manifest |
 * | `GET /healthz` | — | {@link healthSchema}; the only route that needs no token |
 *
 * Every other route needs `Authorization: Bearer <token>`; POST bodies are
 * `application/json`; errors are `errorBodySchema` with a code of
 * errors.ts.
 * @module
 */
import { z } from 'zod';
import { diagnosticSchema } from './diagnostics.js';
import { errorCodeSchema } from './errors.js';
import { fileEncodingSchema, isBase64 } from './files.js';
import { RUNTIMES, RUNTIME_IDS, languageSchema } from './runtimes.js';
import type { Language } from './runtimes.js';
import { sizeEventSchema, ttyOptionSchema } from './terminal.js';

/** Runtime ids the sandbox can run (the runtime table's, see runtimes.ts). */
export const LANGUAGES = RUNTIME_IDS;

/** The file a one-file run (`source`) is written to, per language. */
export const DEFAULT_ENTRY: Readonly<Record<Language, string>> = Object.freeze(
  Object.fromEntries(RUNTIME_IDS.map((id) => [id, RUNTIMES[id].entry])) as Record<Language, string>,
);

/** Most command-line arguments of a run, and the longest one (characters). */
export const MAX_ARGS = 64;
export const MAX_ARG_LENGTH = 4096;

/** Maximum length of one workspace path, in bytes of UTF-16 code units. */
export const MAX_PATH_LENGTH = 255;

/**
 * A path inside `/workspace`: relative, `/`-separated, no `.` or `..` segments,
 * no empty segments, no NUL or backslash. Checked again inside the guest.
 */
export const workspacePathSchema = z
  .string()
  .min(1, 'path is empty')
  .max(MAX_PATH_LENGTH, `path is longer than ${MAX_PATH_LENGTH} characters`)
  .refine((p) => !p.startsWith('/'), 'path must be relative to /workspace (no leading "/")')
  .refine((p) => !/[\0\\]/.test(p), 'path may not contain NUL or backslash')
  .refine(
    (p) => p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..'),
    'path may not contain empty, "." or ".." segments',
  );

/**
 * A file of `/workspace`. `content` is the text itself (`encoding: "utf8"`, the
 * default) or base64 of any bytes (`"base64"`); either way it is written byte
 * for byte.
 */
export const workspaceFileSchema = z
  .strictObject({
    path: workspacePathSchema,
    content: z.string(),
    encoding: fileEncodingSchema.optional(),
  })
  .refine((f) => f.encoding !== 'base64' || isBase64(f.content), {
    message: 'content is not base64 (encoding "base64"): use A-Z a-z 0-9 + / padded with = to a multiple of 4',
    path: ['content'],
  });
export type WorkspaceFile = z.infer<typeof workspaceFileSchema>;

/** Per-run limits; each is capped by the sandbox's configuration. */
export const runLimitsSchema = z.strictObject({
  /** Wall-clock limit in ms, enforced by the host. */
  timeoutMs: z.int().positive().optional(),
  /** Memory for the program (guest cgroup `memory.max`), in MiB. */
  memoryMb: z.int().positive().optional(),
  /** Virtual CPUs of the VM. */
  vcpus: z.int().positive().optional(),
  /** Bytes of stdout + stderr (all stages) before the run is cut with `output_limit`. */
  outputBytes: z.int().positive().optional(),
  /** Wall-clock limit of the compile stage, ms (default per runtime: 10 s with KVM, 20 s under TCG). */
  compileTimeoutMs: z.int().positive().optional(),
  /** Memory of the compiler, MiB (default 256). */
  compileMemoryMb: z.int().positive().optional(),
});
export type RunLimits = z.infer<typeof runLimitsSchema>;

/** Body of `POST /run`. */
export const runRequestSchema = z.strictObject({
  /** A runtime id or alias (`python`, `node`, `c++`…), normalised to the id. */
  language: languageSchema,
  /** The entry program; written to `entry` (default: the runtime's, e.g. `main.py`, `Main.java`). */
  source: z.string(),
  /** Other files placed in `/workspace` before the run. */
  files: z.array(workspaceFileSchema).optional(),
  /** Name of the entry file in `/workspace`. Default: the runtime's entry (`main.c`, `Main.java`…). */
  entry: workspacePathSchema.optional(),
  /** Command-line arguments of the program (after the entry, e.g. Python's `sys.argv[1:]`). */
  args: z.array(z.string().max(MAX_ARG_LENGTH, `an argument is longer than ${MAX_ARG_LENGTH} characters`)).max(MAX_ARGS, `at most ${MAX_ARGS} args`).optional(),
  /** Initial stdin. */
  stdin: z.string().optional(),
  /**
   * Keep stdin open after `stdin` for `POST /run/<jobId>/stdin`.
   * Default: open when `stdin` is absent, closed (EOF after `stdin`) when given.
   */
  stdinOpen: z.boolean().optional(),
  limits: runLimitsSchema.optional(),
  /**
   * Delete every other file in `/workspace` before writing `files` (tool state
   * such as `.cache` stays), so a session's workspace holds exactly what the
   * request sends: files deleted in a room are gone in its VM (issue 11).
   */
  prune: z.boolean().optional(),
  /**
   * Run the program on a pseudo-terminal (`true`: 80 × 24, or `{cols, rows}`):
   * `isatty()` is true, stdout carries the terminal's bytes (stderr merged into
   * it), stdin is typed at the terminal (Ctrl+C, Ctrl+D, Ctrl+Z work) and
   * `POST /run/<jobId>/resize` changes its size. Default: pipes (terminal.ts).
   */
  tty: ttyOptionSchema.optional(),
  /** Runs with the same sessionId share one VM and its `/workspace`. */
  sessionId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'sessionId must be 1-64 of [A-Za-z0-9_-]')
    .optional(),
});
export type RunRequest = z.infer<typeof runRequestSchema>;

/** How a run ended. */
export const RUN_STATUSES = [
  'ok',
  'runtime_error',
  'compile_error',
  'timeout',
  'memory_limit',
  'output_limit',
  'killed',
  'internal_error',
] as const;
export const runStatusSchema = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof runStatusSchema>;

export const startEventSchema = z.strictObject({
  type: z.literal('start'),
  jobId: z.string(),
  vmId: z.string(),
  /** Epoch milliseconds. */
  at: z.number(),
});
/** Starts a stage: every output event after it belongs to that stage. Compiled languages have `compile` then `run`. */
export const STAGES = ['compile', 'run'] as const;
export const stageNameSchema = z.enum(STAGES);
export type StageName = z.infer<typeof stageNameSchema>;
export const stageEventSchema = z.strictObject({
  type: z.literal('stage'),
  name: stageNameSchema,
  /** True when the stage ran in a runtime started ahead of the request (a warm start). */
  warm: z.boolean().optional(),
  /**
   * True when a compile was not run again: the VM compiled the same sources with
   * the same command before, and its output (replayed) and build are reused.
   */
  cached: z.boolean().optional(),
});
/**
 * Compiler messages parsed from the compile stage's output (which is also in
 * the stdout/stderr events), sent when the compile stage ends and said something.
 */
export const diagnosticsEventSchema = z.strictObject({ type: z.literal('diagnostics'), diagnostics: z.array(diagnosticSchema) });
/** How a finished compile stage went, carried by the run's `exit` event. */
export const stageResultSchema = z.strictObject({
  code: z.int().nullable(),
  signal: z.string().nullable(),
  cpuMs: z.number(),
  wallMs: z.number(),
  maxRssKb: z.number(),
});
export type StageResult = z.infer<typeof stageResultSchema>;
/**
 * Output as UTF-8 text. When the program wrote bytes that are not valid UTF-8,
 * `data` has U+FFFD in their place and `bytesB64` holds the chunk's exact bytes.
 */
const outputFields = { data: z.string(), bytesB64: z.base64().optional() };
export const stdoutEventSchema = z.strictObject({ type: z.literal('stdout'), ...outputFields });
export const stderrEventSchema = z.strictObject({ type: z.literal('stderr'), ...outputFields });
export const exitEventSchema = z.strictObject({
  type: z.literal('exit'),
  /** Exit code, or null when killed by a signal. */
  code: z.int().nullable(),
  /** Signal name (`SIGKILL`…) or null. */
  signal: z.string().nullable(),
  status: runStatusSchema,
  cpuMs: z.number(),
  wallMs: z.number(),
  maxRssKb: z.number(),
  /** The compile stage's result when the run had one and it succeeded (a failed compile is this exit itself). */
  compile: stageResultSchema.optional(),
});
/**
 * A file the program created or changed under `/workspace` (issue 11), sent
 * after the program's output and before `exit` (and while it runs, for files
 * that stopped changing). `size` is the file's size in bytes; `content` holds
 * all of it (`utf8` text when it is UTF-8 without NUL, else `base64`) unless
 * `truncated`: then the file was over the per-file or per-run cap and
 * `content` is empty. The file itself stays in the VM.
 */
export const fileEventSchema = z.strictObject({
  type: z.literal('file'),
  path: workspacePathSchema,
  size: z.int().nonnegative(),
  encoding: fileEncodingSchema,
  content: z.string(),
  truncated: z.boolean(),
});
export const errorEventSchema = z.strictObject({
  type: z.literal('error'),
  code: errorCodeSchema,
  message: z.string(),
});

/** One line of the `POST /run` NDJSON response. The stream ends with `exit` or `error`. */
export const runEventSchema = z.discriminatedUnion('type', [
  startEventSchema,
  stageEventSchema,
  stdoutEventSchema,
  stderrEventSchema,
  diagnosticsEventSchema,
  fileEventSchema,
  sizeEventSchema,
  exitEventSchema,
  errorEventSchema,
]);
export type RunEvent = z.infer<typeof runEventSchema>;
export type StartEvent = z.infer<typeof startEventSchema>;
export type ExitEvent = z.infer<typeof exitEventSchema>;
export type ErrorEvent = z.infer<typeof errorEventSchema>;
export type StageEvent = z.infer<typeof stageEventSchema>;
export type DiagnosticsEvent = z.infer<typeof diagnosticsEventSchema>;
export type FileEvent = z.infer<typeof fileEventSchema>;

/** Body of `POST /run/<jobId>/stdin`. `eof: true` closes the program's stdin. */
export const stdinRequestSchema = z.strictObject({
  data: z.string().default(''),
  eof: z.boolean().optional(),
});
export type StdinRequest = z.infer<typeof stdinRequestSchema>;

/** Body of `GET /healthz`. */
export const healthSchema = z.strictObject({
  ok: z.boolean(),
  driver: z.enum(['qemu', 'firecracker', 'fake']),
  acceleration: z.enum(['kvm', 'tcg', 'none']),
  /** Why this acceleration was chosen (e.g. the KVM probe's failure). */
  accelerationReason: z.string(),
  ready: z.boolean(),
  pool: z.strictObject({
    /** VMs booted and idle, ready to hand out. */
    idle: z.int(),
    /** VMs being booted or restored. */
    starting: z.int(),
    /** VMs attached to sessions. */
    attached: z.int(),
    /** Target number of idle VMs. */
    target: z.int(),
    /** `snapshot` when clones restore from a template, else `boot`. */
    mode: z.enum(['snapshot', 'boot']),
    /** Guest memory of every VM held now (pool, template, sessions, runs), MiB; at most `limits.maxGuestMemoryMb`. */
    guestMemoryMb: z.int(),
  }),
  runs: z.strictObject({ active: z.int(), queued: z.int(), total: z.int() }),
  limits: z.strictObject({
    timeoutMs: z.int(),
    maxTimeoutMs: z.int(),
    memoryMb: z.int(),
    maxMemoryMb: z.int(),
    vcpus: z.int(),
    maxVcpus: z.int(),
    outputBytes: z.int(),
    /** MAX_SESSIONS: session VMs at once. */
    maxSessions: z.int(),
    /** MAX_GUEST_MEMORY_MB: guest memory of all VMs together, MiB. */
    maxGuestMemoryMb: z.int(),
    /** MAX_CONCURRENT_RUNS: runs it executes at once; whoever feeds it (a gateway, a fleet worker) sends no more. */
    maxConcurrentRuns: z.int().optional(),
  }),
  /**
   * Host cgroups that bound each VMM process (memory, CPU, pids). `none`
   * means VMMs run without them, and `warning` says what is lost and how to fix it.
   */
  hostCgroups: z.strictObject({
    mode: z.enum(['v2', 'v1', 'none']),
    /** Memory cap of all VMM processes together, MiB; null without cgroups. */
    memoryLimitMb: z.int().nullable(),
    warning: z.string().nullable(),
  }),
  version: z.string(),
  /** Python version inside the guest, once a VM has reported it. */
  python: z.string().nullable(),
  /** Fleet mode (REDIS_URL): this host's id, its connection to Redis, its last heartbeat, runs taken from Redis, drain. */
  fleet: z
    .strictObject({
      hostId: z.string(),
      redis: z.strictObject({ ok: z.boolean(), status: z.string() }),
      /** Epoch ms of the last registration Redis accepted; null before the first. */
      lastHeartbeatAt: z.int().nullable(),
      runs: z.int(),
      draining: z.boolean(),
    })
    .optional(),
});
export type Health = z.infer<typeof healthSchema>;
/** What a fleet host says of itself in its health. */
export type HostFleetHealth = NonNullable<Health['fleet']>;
