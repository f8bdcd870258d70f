/**
 * The closed set of error codes used across CodeCell Live, and the one table
 * that maps each to an HTTP status (and later a tRPC code and a WebSocket close code).
 * @module
 */
import { z } from 'zod';

/** Every error code a client can see. Stable: clients may branch on them. */
export const ERROR_CODES = [
  'bad_json',
  'invalid_request',
  'unsupported_language',
  'source_too_large',
  'too_many_files',
  'files_too_large',
  'invalid_path',
  'limit_exceeded',
  'payload_too_large',
  'unsupported_media_type',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'run_finished',
  'stdin_closed',
  'not_a_terminal',
  'capacity_exceeded',
  'not_supported',
  'link_invalid',
  'already_exists',
  'quota_exceeded',
  'rate_limited',
  'auth_provider_unavailable',
  'sandbox_unavailable',
  'vm_boot_failed',
  'vm_crashed',
  'internal_error',
] as const;

export const errorCodeSchema = z.enum(ERROR_CODES);
/** One of {@link ERROR_CODES}. */
export type ErrorCode = z.infer<typeof errorCodeSchema>;

/** How each code travels over each transport. */
export interface ErrorCodeMapping {
  /** HTTP status for `POST /run` and friends. */
  readonly http: number;
  /** tRPC error code used by the gateway. */
  readonly trpc:
    | 'BAD_REQUEST'
    | 'UNAUTHORIZED'
    | 'FORBIDDEN'
    | 'NOT_FOUND'
    | 'METHOD_NOT_SUPPORTED'
    | 'CONFLICT'
    | 'PAYLOAD_TOO_LARGE'
    | 'UNSUPPORTED_MEDIA_TYPE'
    | 'TOO_MANY_REQUESTS'
    | 'SERVICE_UNAVAILABLE'
    | 'NOT_IMPLEMENTED'
    | 'INTERNAL_SERVER_ERROR';
  /** WebSocket close code (4000-4999 are ours). */
  readonly ws: number;
}

/** The single table from error code to transport codes. */
export const ERROR_CODE_TABLE: Readonly<Record<ErrorCode, ErrorCodeMapping>> = Object.freeze({
  bad_json: { http: 400, trpc: 'BAD_REQUEST', ws: 4400 },
  invalid_request: { http: 400, trpc: 'BAD_REQUEST', ws: 4400 },
  unsupported_language: { http: 400, trpc: 'BAD_REQUEST', ws: 4400 },
  source_too_large: { http: 413, trpc: 'PAYLOAD_TOO_LARGE', ws: 4413 },
  too_many_files: { http: 413, trpc: 'PAYLOAD_TOO_LARGE', ws: 4413 },
  files_too_large: { http: 413, trpc: 'PAYLOAD_TOO_LARGE', ws: 4413 },
  invalid_path: { http: 400, trpc: 'BAD_REQUEST', ws: 4400 },
  limit_exceeded: { http: 400, trpc: 'BAD_REQUEST', ws: 4400 },
  payload_too_large: { http: 413, trpc: 'PAYLOAD_TOO_LARGE', ws: 4413 },
  unsupported_media_type: { http: 415, trpc: 'UNSUPPORTED_MEDIA_TYPE', ws: 4415 },
  unauthorized: { http: 401, trpc: 'UNAUTHORIZED', ws: 4401 },
  forbidden: { http: 403, trpc: 'FORBIDDEN', ws: 4403 },
  not_found: { http: 404, trpc: 'NOT_FOUND', ws: 4404 },
  method_not_allowed: { http: 405, trpc: 'METHOD_NOT_SUPPORTED', ws: 4405 },
  run_finished: { http: 409, trpc: 'CONFLICT', ws: 4409 },
  stdin_closed: { http: 409, trpc: 'CONFLICT', ws: 4409 },
  /** A resize for a run that has no terminal (it was started without `tty`). */
  not_a_terminal: { http: 409, trpc: 'CONFLICT', ws: 4409 },
  capacity_exceeded: { http: 429, trpc: 'TOO_MANY_REQUESTS', ws: 4429 },
  /** What this deployment does not do (terminal sessions in fleet mode); the message says which mode does. */
  not_supported: { http: 501, trpc: 'NOT_IMPLEMENTED', ws: 4501 },
  /** A share link (or invite) that was revoked, expired or never existed. */
  link_invalid: { http: 410, trpc: 'FORBIDDEN', ws: 4410 },
  /** A username or room id that is taken. */
  already_exists: { http: 409, trpc: 'CONFLICT', ws: 4409 },
  /** A per-user quota; the message says which and when it resets. */
  quota_exceeded: { http: 429, trpc: 'TOO_MANY_REQUESTS', ws: 4429 },
  /** Too many sign-in attempts; the message says when to try again. */
  rate_limited: { http: 429, trpc: 'TOO_MANY_REQUESTS', ws: 4429 },
  /** The OpenID Connect provider did not answer. */
  auth_provider_unavailable: { http: 503, trpc: 'SERVICE_UNAVAILABLE', ws: 4503 },
  sandbox_unavailable: { http: 503, trpc: 'SERVICE_UNAVAILABLE', ws: 4503 },
  vm_boot_failed: { http: 503, trpc: 'SERVICE_UNAVAILABLE', ws: 4503 },
  vm_crashed: { http: 500, trpc: 'INTERNAL_SERVER_ERROR', ws: 4500 },
  internal_error: { http: 500, trpc: 'INTERNAL_SERVER_ERROR', ws: 4500 },
});

/** The JSON body of every error response: `{ error: { code, message } }`. */
export const errorBodySchema = z.object({
  error: z.object({ code: errorCodeSchema, message: z.string() }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/**
 * Base class of every error CodeCell raises on purpose. Carries a stable
 * {@link ErrorCode}; the message says what to change.
 */
export class CodeCellError extends Error {
  override readonly name: string = 'CodeCellError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** HTTP status for this error, from {@link ERROR_CODE_TABLE}. */
  get httpStatus(): number {
    return ERROR_CODE_TABLE[this.code].http;
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

/** Turns any thrown value into a {@link CodeCellError}, keeping it as `cause`. */
export function toCodeCellError(err: unknown): CodeCellError {
  if (err instanceof CodeCellError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CodeCellError('internal_error', `internal error: ${message}`, { cause: err });
}
