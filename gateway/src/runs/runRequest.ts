/**
 * Turns a `runCode` input into the sandbox's `POST /run` body.
 * @module
 */
import { CodeCellError } from '@codecell/protocol';
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

/**
 * The entry file becomes `source`, the other files `files`; the room becomes
 * the sandbox session; limits are always explicit; stdin stays open for `sendStdin`.
 * @throws CodeCellError invalid_request when `entry` is not among `files` or a path repeats
 */
export function buildRunRequest(input: ParsedRunCodeInput, defaults: RunDefaults): RunRequest {
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
  const others = input.files.filter((f) => f !== entry);
  const limits: RunRequest['limits'] = {
    timeoutMs: input.limits?.timeoutMs ?? defaults.timeoutMs,
    memoryMb: input.limits?.memoryMb ?? defaults.memoryMb,
    vcpus: input.limits?.vcpus ?? defaults.vcpus,
    ...(input.limits?.outputBytes === undefined ? {} : { outputBytes: input.limits.outputBytes }),
  };
  return {
    language: input.language,
    source: entry.content,
    entry: input.entry,
    ...(others.length > 0 ? { files: others } : {}),
    ...(input.stdin === undefined ? {} : { stdin: input.stdin }),
    // Interactive: more stdin may come through sendStdin until eof.
    stdinOpen: true,
    limits,
    ...(input.roomId === undefined ? {} : { sessionId: input.roomId }),
  };
}
