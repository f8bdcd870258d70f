/**
 * A Judge0 submission body as a CodeCell run (J2 in gateway/SPEC.md): every
 * field checked as Judge0's model validates it, with Rails' messages per
 * field (HTTP 422 `{field: [messages]}`), limits in seconds and KB turned into
 * the gateway's and bounded by its maxima.
 * @module
 */
import { CodeCellError, judge0SubmissionRequestSchema, runtimeIdOfJudge0 } from '@codecell/protocol';
import type { Judge0SubmissionRequest, Judge0ValidationError, RuntimeInfo } from '@codecell/protocol';
import type { ParsedRunCodeInput } from '../../runs/types.js';
import type { CompatLimits } from '../compatLimits.js';

/** Judge0's maxima for the limits CodeCell accepts but that its VM sets itself (config/judge0.conf defaults). */
const JUDGE0_MAX = { stack_limit: 128_000, max_processes_and_or_threads: 120, max_file_size: 4096 } as const;
const MAX_TEXT_OPTION = 512;

/** A submission Judge0 would answer with 422 `{field: [messages]}` (`invalid_request`). */
export class Judge0ValidationFailure extends CodeCellError {
  override readonly name = 'Judge0ValidationFailure';
  constructor(readonly errors: Judge0ValidationError) {
    super('invalid_request', Object.entries(errors).map(([k, v]) => `${k} ${v.join(', ')}`).join('; '));
  }
}

/** What a valid submission is: the run, plus what its result is judged by. */
export interface Judge0Job {
  readonly runtime: RuntimeInfo;
  /** The request's `language_id`. */
  readonly languageId: number;
  /** Exact bytes of `source_code` and `stdin` (decoded when base64). */
  readonly source: Buffer;
  readonly stdin: Buffer | null;
  readonly input: ParsedRunCodeInput;
  /** Seconds. */
  readonly cpuTimeLimit: number;
  readonly wallTimeLimit: number;
  /** KB. */
  readonly memoryLimit: number;
  /** Exact bytes, or null. */
  readonly expectedOutput: Buffer | null;
  readonly redirectStderrToStdout: boolean;
  /** The request's other fields with defaults, as `fields=*` shows them. */
  readonly fields: Readonly<Record<string, string | number | boolean | null>>;
}

/**
 * Splits `command_line_arguments` the way the shell script Judge0 writes
 * would: blanks separate words, quotes group, backslash escapes; Judge0's
 * forbidden characters (`$&;<>|` and backtick) are removed first.
 */
export function splitArguments(line: string): string[] | null {
  const s = line.replace(/[$&;<>|`]/g, '');
  const words: string[] = [];
  let word: string | null = null;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
    } else if (c === '\\' && i + 1 < s.length && (quote === null || '"\\'.includes(s[i + 1] ?? ''))) {
      word = (word ?? '') + (s[++i] ?? '');
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else word = (word ?? '') + c;
  }
  if (quote !== null) return null;
  if (word !== null) words.push(word);
  return words;
}

/** Text from the body: base64-decoded with `base64_encoded=true`; null for no value. */
function bytesOf(value: string | null | undefined, base64: boolean): Buffer | null {
  if (value === undefined || value === null) return null;
  return base64 ? Buffer.from(value, 'base64') : Buffer.from(value, 'utf8');
}

function utf8(bytes: Buffer): string | null {
  const s = bytes.toString('utf8');
  return Buffer.from(s, 'utf8').equals(bytes) ? s : null;
}

class Errors {
  readonly all: Judge0ValidationError = {};
  add(field: string, message: string): void {
    (this.all[field] ??= []).push(message);
  }
  range(field: string, v: number | undefined, o: { min?: number; above?: number; max: number }): void {
    if (v === undefined) return;
    if (o.min !== undefined && v < o.min) this.add(field, `must be greater than or equal to ${o.min}`);
    if (o.above !== undefined && v <= o.above) this.add(field, `must be greater than ${o.above}`);
    if (v > o.max) this.add(field, `must be less than or equal to ${o.max}`);
  }
}

function parseFields(body: unknown, e: Errors): Judge0SubmissionRequest {
  const parsed = judge0SubmissionRequestSchema.safeParse(typeof body === 'object' && body !== null ? body : {});
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) e.add(String(issue.path[0] ?? 'base'), issue.message);
  throw new Judge0ValidationFailure(e.all);
}

function checkUnsupported(r: Judge0SubmissionRequest, e: Errors): void {
  const blank = (v: string | null | undefined): boolean => v === undefined || v === null || v.trim() === '';
  if (!blank(r.compiler_options)) e.add('compiler_options', 'setting compiler options is not allowed');
  if ((r.compiler_options?.length ?? 0) > MAX_TEXT_OPTION) e.add('compiler_options', `is too long (maximum is ${MAX_TEXT_OPTION} characters)`);
  if ((r.command_line_arguments?.length ?? 0) > MAX_TEXT_OPTION) e.add('command_line_arguments', `is too long (maximum is ${MAX_TEXT_OPTION} characters)`);
  if (!blank(r.callback_url)) e.add('callback_url', 'setting callback is not allowed');
  if (!blank(r.additional_files)) e.add('additional_files', 'setting additional files is not allowed');
  if (r.enable_network === true) e.add('enable_network', 'enabling network is not allowed');
  if (r.enable_per_process_and_thread_time_limit === true) e.add('enable_per_process_and_thread_time_limit', 'this option cannot be enabled');
  if (r.enable_per_process_and_thread_memory_limit === true) e.add('enable_per_process_and_thread_memory_limit', 'this option cannot be enabled');
}

/** Options of {@link parseJudge0Submission}. */
export interface ParseJudge0Options {
  readonly runtimes: readonly RuntimeInfo[];
  readonly limits: CompatLimits;
  /** `base64_encoded=true`: source_code, stdin and expected_output are base64. */
  readonly base64: boolean;
}

/**
 * Checks one submission.
 * @throws Judge0ValidationFailure with every problem, per field
 */
export function parseJudge0Submission(body: unknown, o: ParseJudge0Options): Judge0Job {
  const e = new Errors();
  const r = parseFields(body, e);
  const maxS = o.limits.maxTimeoutMs / 1000;
  const source = bytesOf(r.source_code, o.base64);
  if (source === null || source.length === 0) e.add('source_code', "can't be blank");
  const sourceText = source === null ? '' : utf8(source);
  if (sourceText === null) e.add('source_code', 'is not UTF-8 text; CodeCell runs source files that are text');
  const stdin = bytesOf(r.stdin, o.base64);
  const stdinText = stdin === null ? '' : utf8(stdin);
  if (stdinText === null) e.add('stdin', 'is not UTF-8 text; CodeCell passes stdin as text');
  const id = r.language_id;
  const runtime = id === undefined ? undefined : o.runtimes.find((rt) => rt.id === runtimeIdOfJudge0(id));
  if (id === undefined) e.add('language_id', "can't be blank");
  else if (runtime === undefined) e.add('language_id', `language with id ${id} doesn't exist`);
  e.range('number_of_runs', r.number_of_runs, { above: 0, max: 1 });
  e.range('cpu_time_limit', r.cpu_time_limit, { min: 0, max: maxS });
  e.range('cpu_extra_time', r.cpu_extra_time, { min: 0, max: maxS });
  e.range('wall_time_limit', r.wall_time_limit, { min: 1, max: maxS });
  e.range('memory_limit', r.memory_limit, { min: 2048, max: o.limits.maxMemoryMb * 1024 });
  e.range('stack_limit', r.stack_limit, { min: 0, max: JUDGE0_MAX.stack_limit });
  e.range('max_processes_and_or_threads', r.max_processes_and_or_threads, { above: 0, max: JUDGE0_MAX.max_processes_and_or_threads });
  e.range('max_file_size', r.max_file_size, { min: 0, max: JUDGE0_MAX.max_file_size });
  checkUnsupported(r, e);
  const args = splitArguments(r.command_line_arguments ?? '');
  if (args === null) e.add('command_line_arguments', 'has an unterminated quote');
  if (Object.keys(e.all).length > 0 || runtime === undefined || sourceText === null || stdinText === null || args === null) throw new Judge0ValidationFailure(e.all);
  const defaultS = o.limits.defaultTimeoutMs / 1000;
  const wallTimeLimit = r.wall_time_limit ?? defaultS;
  const cpuTimeLimit = r.cpu_time_limit ?? Math.min(defaultS, wallTimeLimit);
  const memoryLimit = r.memory_limit ?? o.limits.maxMemoryMb * 1024;
  const input: ParsedRunCodeInput = {
    language: runtime.id,
    entry: runtime.entry,
    files: [{ path: runtime.entry, content: sourceText }],
    ...(stdinText === '' ? {} : { stdin: stdinText }),
    stdinOpen: false,
    ...(args.length > 0 ? { args } : {}),
    limits: {
      timeoutMs: Math.round(wallTimeLimit * 1000),
      memoryMb: Math.ceil(memoryLimit / 1024),
      // Judge0 compiles with its configured maxima, not the submission's limits (its isolate_job.rb).
      ...(runtime.compiled ? { compileTimeoutMs: o.limits.maxTimeoutMs, compileMemoryMb: o.limits.maxCompileMemoryMb } : {}),
    },
  };
  const fields: Judge0Job['fields'] = {
    compiler_options: r.compiler_options ?? null,
    command_line_arguments: r.command_line_arguments ?? null,
    number_of_runs: 1,
    cpu_time_limit: cpuTimeLimit,
    cpu_extra_time: r.cpu_extra_time ?? 0,
    wall_time_limit: wallTimeLimit,
    memory_limit: memoryLimit,
    stack_limit: r.stack_limit ?? JUDGE0_MAX.stack_limit,
    max_processes_and_or_threads: r.max_processes_and_or_threads ?? JUDGE0_MAX.max_processes_and_or_threads,
    enable_per_process_and_thread_time_limit: false,
    enable_per_process_and_thread_memory_limit: false,
    max_file_size: r.max_file_size ?? JUDGE0_MAX.max_file_size,
    redirect_stderr_to_stdout: r.redirect_stderr_to_stdout ?? false,
    callback_url: null,
    additional_files: null,
    enable_network: false,
  };
  return {
    runtime,
    languageId: id ?? 0,
    source: source ?? Buffer.alloc(0),
    stdin,
    input,
    cpuTimeLimit,
    wallTimeLimit,
    memoryLimit,
    expectedOutput: bytesOf(r.expected_output, o.base64),
    redirectStderrToStdout: r.redirect_stderr_to_stdout ?? false,
    fields,
  };
}
