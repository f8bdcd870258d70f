/**
 * Turns a `runCode` input into the sandbox's `POST /run` body.
 * @module
 */
import { CodeCellError, textOf } from '@codecell/protocol';
import type { RunRequest } from '@codecell/protocol';
import type { ParsedRunCodeInput } from './types.js';

/** Limits every run asks for unless its input says otherwise. */
export interface RunDefaults {
  /** RUN_TIMEOUT_MS */
  readonly timeoutMs: number;
  /** MAX_MEM_MB */
  readonly memoryMb: number;
  /** MAX_VCPUS */
  readonly vcpus: number;
}

/** The most a run may ask for (a request beyond them fails with limit_exceeded). */
export interface RunMaxima {
  /** MAX_RUN_TIMEOUT_MS */
  readonly timeoutMs: number;
  /** MAX_MEM_MB */
  readonly memoryMb: number;
  /** MAX_VCPUS */
  readonly vcpus: number;
}

const MAX_NAMES: Record<keyof RunMaxima, string> = { timeoutMs: 'MAX_RUN_TIMEOUT_MS', memoryMb: 'MAX_MEM_MB', vcpus: 'MAX_VCPUS' };

/**
 * Refuses limits above the gateway's maxima.
 * @throws CodeCellError limit_exceeded naming the limit and the variable
 */
export function checkLimits(limits: RunRequest['limits'], maxima: RunMaxima | undefined): void {
  if (limits === undefined || maxima === undefined) return;
  for (const key of ['timeoutMs', 'memoryMb', 'vcpus'] as const) {
    const asked = limits[key];
    if (asked !== undefined && asked > maxima[key]) {
      throw new CodeCellError('limit_exceeded', `limits.${key} is ${asked}; this gateway allows at most ${maxima[key]} (${MAX_NAMES[key]}=${maxima[key]})`);
    }
  }
}

/** Bytes a request holds (source, files, stdin): what a queued run costs in memory. */
export function requestBytes(request: RunRequest): number {
  let n = Buffer.byteLength(request.source) + (request.stdin === undefined ? 0 : Buffer.byteLength(request.stdin));
  for (const f of request.files ?? []) n += Buffer.byteLength(f.content) + f.path.length;
  return n;
}

/**
 * The entry file becomes `source`, the other files `files`; the room becomes
 * the sandbox session; limits are always explicit; stdin stays open for `sendStdin`.
 * @throws CodeCellError invalid_request when `entry` is not among `files` or a path repeats, limit_exceeded beyond `maxima`
 */
export function buildRunRequest(input: ParsedRunCodeInput, defaults: RunDefaults, maxima?: RunMaxima): RunRequest {
  checkLimits(input.limits, maxima);
  const seen = new Set<string>();
  for (const f of input.files) {
    if (seen.has(f.path)) throw new CodeCellError('invalid_request', `files lists "${f.path}" twice; each path may appear once`);
    seen.add(f.path);
  }
  const entry = input.files.find((f) => f.path === input.entry);
  if (!entry) {
    const names = input.files.map((f) => f.path).slice(0, 10).join(', ');
    throw new CodeCellError('invalid_request', `entry "${input.entry}" is not one of the files (${names}); add it or change entry`);
  }
  const source = entry.encoding === 'base64' ? textOf(Buffer.from(entry.content, 'base64')) : entry.content;
  if (source === null) throw new CodeCellError('invalid_request', `entry "${input.entry}" is binary; the file Run executes must be UTF-8 text`);
  const others = input.files.filter((f) => f !== entry);
  const limits: RunRequest['limits'] = {
    timeoutMs: input.limits?.timeoutMs ?? defaults.timeoutMs,
    memoryMb: input.limits?.memoryMb ?? defaults.memoryMb,
    vcpus: input.limits?.vcpus ?? defaults.vcpus,
    ...(input.limits?.outputBytes === undefined ? {} : { outputBytes: input.limits.outputBytes }),
    // Compile limits are the sandbox's to default and cap (per runtime, KVM or TCG).
    ...(input.limits?.compileTimeoutMs === undefined ? {} : { compileTimeoutMs: input.limits.compileTimeoutMs }),
    ...(input.limits?.compileMemoryMb === undefined ? {} : { compileMemoryMb: input.limits.compileMemoryMb }),
  };
  return {
    language: input.language,
    source,
    entry: input.entry,
    ...(others.length > 0 ? { files: others } : {}),
    ...(input.stdin === undefined ? {} : { stdin: input.stdin }),
    ...(input.args === undefined || input.args.length === 0 ? {} : { args: input.args }),
    // Interactive unless asked otherwise: more stdin may come through sendStdin until eof.
    stdinOpen: input.stdinOpen ?? true,
    limits,
    ...(input.tty === undefined ? {} : { tty: input.tty }),
    // A room's run sends all its files: its VM's workspace then holds exactly them (deleted files go).
    ...(input.roomId === undefined ? {} : { sessionId: input.roomId, prune: true }),
  };
}
