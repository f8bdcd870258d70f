/**
 * Judge0 CE's API (v1.13.1) as CodeCell serves it: `/submissions` (single and
 * batch), `/languages`, `/statuses`, `/about`. Field names are Judge0's.
 * Ranges that depend on the gateway's configuration are checked by the
 * gateway (gateway/SPEC.md, J rules); these schemas check types only.
 * @module
 */
import { z } from 'zod';

/** Judge0's statuses, by id (`app/enumerations/status.rb`). */
export const JUDGE0_STATUSES = Object.freeze([
  { id: 1, description: 'In Queue' },
  { id: 2, description: 'Processing' },
  { id: 3, description: 'Accepted' },
  { id: 4, description: 'Wrong Answer' },
  { id: 5, description: 'Time Limit Exceeded' },
  { id: 6, description: 'Compilation Error' },
  { id: 7, description: 'Runtime Error (SIGSEGV)' },
  { id: 8, description: 'Runtime Error (SIGXFSZ)' },
  { id: 9, description: 'Runtime Error (SIGFPE)' },
  { id: 10, description: 'Runtime Error (SIGABRT)' },
  { id: 11, description: 'Runtime Error (NZEC)' },
  { id: 12, description: 'Runtime Error (Other)' },
  { id: 13, description: 'Internal Error' },
  { id: 14, description: 'Exec Format Error' },
] as const);
export type Judge0StatusId = (typeof JUDGE0_STATUSES)[number]['id'];

/** Named status ids. */
export const Judge0Status = {
  inQueue: 1,
  processing: 2,
  accepted: 3,
  wrongAnswer: 4,
  timeLimitExceeded: 5,
  compilationError: 6,
  sigsegv: 7,
  sigxfsz: 8,
  sigfpe: 9,
  sigabrt: 10,
  nzec: 11,
  otherRuntimeError: 12,
  internalError: 13,
  execFormatError: 14,
} as const satisfies Record<string, Judge0StatusId>;

/** Judge0's largest batch (MAX_SUBMISSION_BATCH_SIZE). */
export const JUDGE0_MAX_BATCH = 20;

/** A number as Rails takes it: a JSON number or a numeric string; null and "" count as not given. */
const num = z.preprocess(
  (v) => (v === '' || v === null ? undefined : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v),
  z.number({ error: 'is not a number' }).optional(),
);
const text = z.string({ error: 'must be a string' }).nullable().optional();
const flag = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v === null ? undefined : v), z.boolean({ error: 'must be true or false' }).optional());

/** Body of `POST /submissions` (one entry of a batch). Unknown fields are ignored, as Rails' `permit` does. */
export const judge0SubmissionRequestSchema = z.object({
  source_code: text,
  language_id: num,
  compiler_options: text,
  command_line_arguments: text,
  stdin: text,
  expected_output: text,
  /** Seconds. */
  cpu_time_limit: num,
  cpu_extra_time: num,
  wall_time_limit: num,
  /** KB. */
  memory_limit: num,
  stack_limit: num,
  max_processes_and_or_threads: num,
  enable_per_process_and_thread_time_limit: flag,
  enable_per_process_and_thread_memory_limit: flag,
  max_file_size: num,
  number_of_runs: num,
  redirect_stderr_to_stdout: flag,
  callback_url: text,
  additional_files: text,
  enable_network: flag,
});
export type Judge0SubmissionRequest = z.infer<typeof judge0SubmissionRequestSchema>;

/** Body of `POST /submissions/batch`. */
export const judge0BatchRequestSchema = z.object({ submissions: z.array(z.unknown(), { error: 'submissions must be an array' }) });

/** 422 answer: messages per field, as Rails' `errors` renders them. */
export const judge0ValidationErrorSchema = z.record(z.string(), z.array(z.string()));
export type Judge0ValidationError = z.infer<typeof judge0ValidationErrorSchema>;

/** Other errors (400, 401, 404, 429, 503): `{error}`. */
export const judge0ErrorSchema = z.object({ error: z.string() });

/** A submission as `GET /submissions/{token}` shows it; which fields appear depends on `fields`. */
export const judge0SubmissionSchema = z.looseObject({
  token: z.string().optional(),
  stdout: z.string().nullable().optional(),
  stderr: z.string().nullable().optional(),
  compile_output: z.string().nullable().optional(),
  message: z.string().nullable().optional(),
  /** Seconds, as a decimal string ("0.012"). */
  time: z.string().nullable().optional(),
  wall_time: z.string().nullable().optional(),
  /** KB. */
  memory: z.number().nullable().optional(),
  exit_code: z.int().nullable().optional(),
  exit_signal: z.int().nullable().optional(),
  status: z.object({ id: z.int(), description: z.string() }).optional(),
});
export type Judge0Submission = z.infer<typeof judge0SubmissionSchema>;

/** Fields a submission has (`fields=*`), Judge0's serializer attributes. */
export const JUDGE0_FIELDS = [
  'source_code', 'language_id', 'stdin', 'expected_output', 'stdout', 'status_id', 'created_at', 'finished_at', 'time', 'memory',
  'stderr', 'token', 'number_of_runs', 'cpu_time_limit', 'cpu_extra_time', 'wall_time_limit', 'memory_limit', 'stack_limit',
  'max_processes_and_or_threads', 'enable_per_process_and_thread_time_limit', 'enable_per_process_and_thread_memory_limit',
  'max_file_size', 'compile_output', 'exit_code', 'exit_signal', 'message', 'wall_time', 'compiler_options', 'command_line_arguments',
  'redirect_stderr_to_stdout', 'callback_url', 'additional_files', 'enable_network', 'status', 'language',
] as const;
export type Judge0Field = (typeof JUDGE0_FIELDS)[number];

/** Fields shown when `fields` is not given. */
export const JUDGE0_DEFAULT_FIELDS: readonly Judge0Field[] = ['token', 'time', 'memory', 'stdout', 'stderr', 'compile_output', 'message', 'status'];
