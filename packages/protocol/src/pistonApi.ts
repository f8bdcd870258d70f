/**
 * Piston v2's API as CodeCell serves it (engineer-man/piston `api/src/api/v2.js`,
 * `api/src/job.js`): `GET /api/v2/runtimes`, `POST /api/v2/execute` and the
 * `ws /api/v2/connect` messages. Field names are Piston's (snake_case).
 * Behaviour is in gateway/SPEC.md (P rules).
 * @module
 */
import { z } from 'zod';

/** One entry of `GET /api/v2/runtimes`. */
export const pistonRuntimeSchema = z.object({
  language: z.string(),
  /** SemVer. */
  version: z.string(),
  aliases: z.array(z.string()),
  runtime: z.string().optional(),
});
export type PistonRuntime = z.infer<typeof pistonRuntimeSchema>;

/** Piston's file encodings. */
export const PISTON_ENCODINGS = ['utf8', 'base64', 'hex'] as const;

/** The six limits of an execute request: ms (timeouts, CPU time) or bytes (memory); -1 = the server's maximum. */
export const PISTON_LIMIT_FIELDS = ['compile_timeout', 'run_timeout', 'compile_cpu_time', 'run_cpu_time', 'compile_memory_limit', 'run_memory_limit'] as const;
export type PistonLimitField = (typeof PISTON_LIMIT_FIELDS)[number];

const limit = (name: PistonLimitField) =>
  z
    .number({ error: `If specified, ${name} must be a number` })
    .refine((n) => Number.isInteger(n) && (n >= 0 || n === -1), `${name} must be non-negative (or -1 for the maximum)`)
    .optional()
    .nullable();

/** Body of `POST /api/v2/execute` (and of the `init` message). Unknown fields are ignored, as Piston does. */
export const pistonExecuteRequestSchema = z.object({
  language: z.string({ error: 'language is required as a string' }).min(1, 'language is required as a string'),
  version: z.string({ error: 'version is required as a string' }).min(1, 'version is required as a string'),
  files: z
    .array(
      z.object({
        name: z.string({ error: 'files[].name must be a string' }).optional().nullable(),
        content: z.string({ error: 'files[].content is required as a string' }),
        encoding: z.enum(PISTON_ENCODINGS, { error: 'files[].encoding must be one of utf8, base64, hex' }).optional().nullable(),
      }),
      { error: 'files is required as an array' },
    )
    .min(1, 'files must include at least one file'),
  stdin: z.string({ error: 'stdin must be a string' }).optional().nullable(),
  args: z.array(z.union([z.string(), z.number()]).transform(String), { error: 'args must be an array of strings' }).optional().nullable(),
  compile_timeout: limit('compile_timeout'),
  run_timeout: limit('run_timeout'),
  compile_cpu_time: limit('compile_cpu_time'),
  run_cpu_time: limit('run_cpu_time'),
  compile_memory_limit: limit('compile_memory_limit'),
  run_memory_limit: limit('run_memory_limit'),
});
export type PistonExecuteRequest = z.infer<typeof pistonExecuteRequestSchema>;

/** Piston's status letters: runtime error, signal, timeout, stdout limit, stderr limit, internal error. */
export const PISTON_STATUSES = ['RE', 'SG', 'TO', 'OL', 'EL', 'XX'] as const;
export type PistonStatus = (typeof PISTON_STATUSES)[number];

/** One stage (`compile` or `run`) of an execute answer. */
export const pistonStageResultSchema = z.object({
  stdout: z.string(),
  stderr: z.string(),
  /** stdout and stderr interleaved in the order they were written. */
  output: z.string(),
  code: z.int().nullable(),
  signal: z.string().nullable(),
  message: z.string().nullable(),
  /** Null when the stage exited 0 on its own. */
  status: z.enum(PISTON_STATUSES).nullable(),
  /** ms */
  cpu_time: z.number().nullable(),
  /** ms */
  wall_time: z.number().nullable(),
  /** bytes */
  memory: z.number().nullable(),
});
export type PistonStageResult = z.infer<typeof pistonStageResultSchema>;

/** Answer of `POST /api/v2/execute`. When the compile fails, `run` is a copy of `compile`. */
export const pistonExecuteResponseSchema = z.object({
  language: z.string(),
  version: z.string(),
  run: pistonStageResultSchema,
  compile: pistonStageResultSchema.optional(),
});
export type PistonExecuteResponse = z.infer<typeof pistonExecuteResponseSchema>;

/** Every error answer: HTTP 400 (bad input, unknown runtime, a limit over the maximum) and the others. */
export const pistonErrorSchema = z.object({ message: z.string() });

/** Signal names `signal` messages may carry (Piston's `globals.SIGNALS`). */
export const PISTON_SIGNALS = [
  'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGKILL', 'SIGUSR1', 'SIGSEGV', 'SIGUSR2',
  'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG',
  'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGIO', 'SIGPWR', 'SIGSYS',
] as const;

/** Client → server on `ws /api/v2/connect`. */
export const pistonClientMessageSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('init') }),
  z.object({ type: z.literal('data'), stream: z.string(), data: z.string() }),
  z.object({ type: z.literal('signal'), signal: z.string() }),
]);
export type PistonClientMessage = z.infer<typeof pistonClientMessageSchema>;

/** Server → client on `ws /api/v2/connect`. */
export const pistonServerMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('runtime'), language: z.string(), version: z.string() }),
  z.object({ type: z.literal('stage'), stage: z.enum(['compile', 'run']) }),
  z.object({ type: z.literal('data'), stream: z.enum(['stdout', 'stderr']), data: z.string() }),
  z.object({ type: z.literal('exit'), stage: z.enum(['compile', 'run']), code: z.int().nullable(), signal: z.string().nullable(), error: z.string().optional() }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);
export type PistonServerMessage = z.infer<typeof pistonServerMessageSchema>;

/** Close codes of `ws /api/v2/connect`, Piston's. */
export const PistonCloseCode = {
  alreadyInitialised: 4000,
  initTimeout: 4001,
  notifiedError: 4002,
  notInitialised: 4003,
  onlyStdin: 4004,
  invalidSignal: 4005,
  jobCompleted: 4999,
} as const;

/** The socket must send `init` within this, ms (Piston's 1 s). */
export const PISTON_INIT_TIMEOUT_MS = 1_000;
