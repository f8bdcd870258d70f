/**
 * A Judge0 submission as the gateway keeps it (J5 in gateway/SPEC.md) and as
 * `GET /submissions/{token}` shows it (J3): every text field is held as
 * base64 of its exact bytes, as Judge0 itself stores them, and shown either
 * as it is (`base64_encoded=true`) or as UTF-8 text; text that is not UTF-8
 * cannot be shown without base64 and is Judge0's conversion error.
 * @module
 */
import { z } from 'zod';
import { CodeCellError, JUDGE0_DEFAULT_FIELDS, JUDGE0_FIELDS, JUDGE0_STATUSES } from '@codecell/protocol';
import type { Judge0Field } from '@codecell/protocol';
import type { Judge0Verdict } from './judge0Result.js';

const b64 = z.base64().nullable();
/** The stored record (the store's `record` column). */
export const judge0RecordSchema = z.object({
  token: z.string(),
  language_id: z.int(),
  /** As `/languages` named it when the submission was made, e.g. "Python (3.11.2)". */
  language_name: z.string(),
  /** Request text fields, base64. */
  source_code: b64,
  stdin: b64,
  expected_output: b64,
  /** Other request fields, with defaults applied. */
  request: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  status_id: z.int(),
  created_at: z.string(),
  finished_at: z.string().nullable(),
  /** Output, base64 of the exact bytes; null when empty or not run yet. */
  stdout: b64,
  stderr: b64,
  compile_output: b64,
  message: z.string().nullable(),
  time: z.string().nullable(),
  wall_time: z.string().nullable(),
  memory: z.number().nullable(),
  exit_code: z.int().nullable(),
  exit_signal: z.int().nullable(),
  /** The gateway (GATEWAY_ID) that runs it; absent in records made before fleet mode. Never shown. */
  gateway: z.string().optional(),
});
export type Judge0Record = z.infer<typeof judge0RecordSchema>;

/** A new record, In Queue. */
export function newRecord(o: {
  token: string;
  languageId: number;
  languageName: string;
  source: Buffer;
  stdin: Buffer | null;
  expectedOutput: Buffer | null;
  request: Judge0Record['request'];
  createdAt: number;
  gateway?: string;
}): Judge0Record {
  return {
    token: o.token,
    language_id: o.languageId,
    language_name: o.languageName,
    source_code: o.source.toString('base64'),
    stdin: o.stdin?.toString('base64') ?? null,
    expected_output: o.expectedOutput?.toString('base64') ?? null,
    request: o.request,
    status_id: 1,
    created_at: new Date(o.createdAt).toISOString(),
    finished_at: null,
    stdout: null,
    stderr: null,
    compile_output: null,
    message: null,
    time: null,
    wall_time: null,
    memory: null,
    exit_code: null,
    exit_signal: null,
    ...(o.gateway === undefined ? {} : { gateway: o.gateway }),
  };
}

/** The record once its run ended. */
export function finishedRecord(r: Judge0Record, v: Judge0Verdict, finishedAt: number): Judge0Record {
  return {
    ...r,
    status_id: v.status_id,
    finished_at: new Date(finishedAt).toISOString(),
    stdout: v.stdout_b64,
    stderr: v.stderr_b64,
    compile_output: v.compile_output_b64,
    message: v.message,
    time: v.time,
    wall_time: v.wall_time,
    memory: v.memory,
    exit_code: v.exit_code,
    exit_signal: v.exit_signal,
  };
}

/** The description of a status id. */
export function statusOf(id: number): { id: number; description: string } {
  return { id, description: JUDGE0_STATUSES.find((s) => s.id === id)?.description ?? 'Internal Error' };
}

/** Judge0's answer when a field is not UTF-8 and base64 was not asked for. */
export const CONVERSION_ERROR = 'some attributes for this submission cannot be converted to UTF-8, use base64_encoded=true query parameter';

/** A submission that cannot be shown as text (HTTP 400 with {@link CONVERSION_ERROR}). */
export class Judge0ConversionError extends CodeCellError {
  override readonly name = 'Judge0ConversionError';
  constructor() {
    super('invalid_request', CONVERSION_ERROR);
  }
}

/**
 * The `fields` query parameter: the default fields, `*` for all, or a comma
 * list; unknown names fail as Judge0 says it (`invalid fields: [a, b]`).
 * @throws CodeCellError invalid_request
 */
export function requestedFields(param: string | null): readonly Judge0Field[] {
  const names = (param ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const invalid = names.filter((n) => n !== '*' && !(JUDGE0_FIELDS as readonly string[]).includes(n));
  if (invalid.length > 0) throw new CodeCellError('invalid_request', `invalid fields: [${invalid.join(', ')}]`);
  if (names.includes('*')) return JUDGE0_FIELDS;
  const known = names as Judge0Field[];
  return known.length > 0 ? known : JUDGE0_DEFAULT_FIELDS;
}

function text(value: string | null, base64: boolean): string | null {
  if (value === null) return null;
  if (base64) return value;
  const bytes = Buffer.from(value, 'base64');
  const s = bytes.toString('utf8');
  if (!Buffer.from(s, 'utf8').equals(bytes)) throw new Judge0ConversionError();
  return s;
}

/**
 * A record as Judge0's serializer shows it: the requested fields only.
 * @throws Judge0ConversionError when a text field is not UTF-8 and `base64` is false
 */
export function serializeRecord(r: Judge0Record, o: { fields: readonly Judge0Field[]; base64: boolean }): Record<string, unknown> {
  const value = (field: Judge0Field): unknown => {
    switch (field) {
      case 'source_code':
      case 'stdin':
      case 'expected_output':
      case 'stdout':
      case 'stderr':
      case 'compile_output':
        return text(r[field], o.base64);
      case 'message':
        return r.message !== null && o.base64 ? Buffer.from(r.message, 'utf8').toString('base64') : r.message;
      case 'status':
        return statusOf(r.status_id);
      case 'status_id':
        return r.status_id;
      case 'language':
        return { id: r.language_id, name: r.language_name };
      case 'token':
      case 'language_id':
      case 'created_at':
      case 'finished_at':
      case 'time':
      case 'wall_time':
      case 'memory':
      case 'exit_code':
      case 'exit_signal':
        return r[field];
      default:
        return r.request[field] ?? null;
    }
  };
  return Object.fromEntries(o.fields.map((f) => [f, value(f)]));
}
