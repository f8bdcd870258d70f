/**
 * A Piston `execute` body (or `init` message) as a CodeCell run: the runtime
 * chosen by language and SemVer selector, the files decoded (the first is the
 * entry), Piston's limits in ms and bytes turned into the gateway's, checked
 * against its maxima (P2, P3 in gateway/SPEC.md). Every refusal is a
 * {@link PistonError}: HTTP 400 `{message}` as Piston words it.
 * @module
 */
import semver from 'semver';
import { CodeCellError, PEER_RUNTIME_NAMES, pistonExecuteRequestSchema, resolveRuntimeId, runtimeIdOfPiston, semverOf, workspacePathSchema } from '@codecell/protocol';
import type { PistonExecuteRequest, PistonLimitField, RunLimits, RuntimeInfo } from '@codecell/protocol';
import type { ParsedRunCodeInput } from '../../runs/types.js';
import type { CompatLimits } from '../compatLimits.js';

const MIB = 1024 * 1024;

/** A request Piston would answer with 400 `{message}` (`invalid_request`, in Piston's words). */
export class PistonError extends CodeCellError {
  override readonly name = 'PistonError';
  constructor(message: string) {
    super('invalid_request', message);
  }
}

/** A parsed execute request. */
export interface PistonJob {
  readonly runtime: RuntimeInfo;
  /** Piston's name and SemVer of the runtime, as answers carry them. */
  readonly language: string;
  readonly version: string;
  readonly input: ParsedRunCodeInput;
  /** CPU-time limits in ms (checked when the stage ends), null for none. */
  readonly cpuTimeMs: { readonly compile: number | null; readonly run: number | null };
}

/** The Piston language name of a runtime. */
export function pistonLanguage(r: RuntimeInfo): string {
  return PEER_RUNTIME_NAMES[r.id].piston;
}

/**
 * The newest runtime that `language` (Piston name, our id or alias) and the
 * SemVer selector `version` pick, or undefined.
 */
export function pickRuntime(runtimes: readonly RuntimeInfo[], language: string, version: string): RuntimeInfo | undefined {
  const id = runtimeIdOfPiston(language) ?? resolveRuntimeId(language);
  const matching = runtimes.filter((r) => r.id === id && semver.satisfies(semverOf(r.version), version));
  return matching.sort((a, b) => semver.rcompare(semverOf(a.version), semverOf(b.version)))[0];
}

/** The first problem zod found, in Piston's words (`files[0].content is required as a string`). */
function firstMessage(body: unknown): PistonExecuteRequest {
  const parsed = pistonExecuteRequestSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const message = issue?.message ?? 'invalid request';
  const index = issue?.path.find((p) => typeof p === 'number');
  throw new PistonError(index === undefined ? message : message.replace('files[]', `files[${index}]`));
}

function decodeFile(content: string, encoding: string, i: number): string {
  if (encoding === 'utf8') return content;
  const bytes = Buffer.from(content, encoding === 'hex' ? 'hex' : 'base64');
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) {
    throw new PistonError(`files[${i}] is not UTF-8 text once decoded from ${encoding}; this server keeps files as text`);
  }
  return text;
}

/** One limit: undefined (default), the maximum for -1, else the value; above the maximum refused. */
function limitValue(req: PistonExecuteRequest, name: PistonLimitField, max: number): number | undefined {
  const v = req[name];
  if (v === undefined || v === null || v === 0) return undefined;
  if (v === -1) return max;
  if (v > max) throw new PistonError(`${name} cannot exceed the configured limit of ${max}`);
  return v;
}

function limitsOf(req: PistonExecuteRequest, l: CompatLimits): { limits: RunLimits; cpu: PistonJob['cpuTimeMs'] } {
  const runTimeout = limitValue(req, 'run_timeout', l.maxTimeoutMs);
  const compileTimeout = limitValue(req, 'compile_timeout', l.maxTimeoutMs);
  const runMemory = limitValue(req, 'run_memory_limit', l.maxMemoryMb * MIB);
  const compileMemory = limitValue(req, 'compile_memory_limit', l.maxCompileMemoryMb * MIB);
  const limits: RunLimits = {
    ...(runTimeout === undefined ? {} : { timeoutMs: runTimeout }),
    ...(compileTimeout === undefined ? {} : { compileTimeoutMs: compileTimeout }),
    ...(runMemory === undefined ? {} : { memoryMb: Math.ceil(runMemory / MIB) }),
    ...(compileMemory === undefined ? {} : { compileMemoryMb: Math.ceil(compileMemory / MIB) }),
  };
  const cpu = (name: PistonLimitField): number | null => {
    const v = limitValue(req, name, l.maxTimeoutMs);
    return v === undefined || req[name] === -1 ? null : v;
  };
  return { limits, cpu: { compile: cpu('compile_cpu_time'), run: cpu('run_cpu_time') } };
}

/** Options of {@link parsePistonRequest}. */
export interface ParsePistonOptions {
  readonly runtimes: readonly RuntimeInfo[];
  readonly limits: CompatLimits;
  /** `execute` closes stdin after `stdin` (with the newline Piston adds); the socket keeps it open. */
  readonly interactive: boolean;
}

/**
 * Parses and checks an execute body.
 * @throws PistonError with Piston's message
 */
export function parsePistonRequest(body: unknown, o: ParsePistonOptions): PistonJob {
  const req = firstMessage(body);
  const runtime = pickRuntime(o.runtimes, req.language, req.version);
  if (runtime === undefined) throw new PistonError(`${req.language}-${req.version} runtime is unknown`);
  const files = req.files.map((f, i) => {
    const path = f.name ?? (i === 0 ? runtime.entry : `file${i}.code`);
    const checked = workspacePathSchema.safeParse(path);
    if (!checked.success) throw new PistonError(`files[${i}].name "${path.slice(0, 100)}": ${checked.error.issues[0]?.message ?? 'invalid'}`);
    return { path, content: decodeFile(f.content, f.encoding ?? 'utf8', i) };
  });
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) throw new PistonError(`files has "${f.path}" twice; give each file its own name`);
    seen.add(f.path);
  }
  const { limits, cpu } = limitsOf(req, o.limits);
  // Piston ends stdin with a newline when it has none (job.js); over the socket stdin comes as `data`.
  const raw = req.stdin ?? '';
  const stdin = o.interactive ? raw : raw.endsWith('\n') ? raw : `${raw}\n`;
  const input: ParsedRunCodeInput = {
    language: runtime.id,
    entry: files[0]?.path ?? runtime.entry,
    files,
    ...(stdin === '' ? {} : { stdin }),
    stdinOpen: o.interactive,
    ...(req.args && req.args.length > 0 ? { args: req.args } : {}),
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  };
  return { runtime, language: pistonLanguage(runtime), version: semverOf(runtime.version), input, cpuTimeMs: cpu };
}
