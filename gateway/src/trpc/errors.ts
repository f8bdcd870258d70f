/**
 * Turns errors thrown by procedures into tRPC errors through ERROR_CODE_TABLE,
 * and tells clients the CodeCell code behind each one (`data.codecellCode`).
 * @module
 */
import { TRPCError } from '@trpc/server';
import { CodeCellError, ERROR_CODE_TABLE, toCodeCellError } from '@codecell/protocol';
import type { ErrorCode } from '@codecell/protocol';

/** What a caller needs to turn an unknown error into a TRPCError. */
export function toTRPCError(err: unknown): TRPCError {
  if (err instanceof TRPCError) {
    if (err.cause instanceof CodeCellError) return toTRPCError(err.cause);
    if (err.code === 'BAD_REQUEST' && isIssueList(err.cause)) {
      return toTRPCError(new CodeCellError('invalid_request', formatIssues(err.cause.issues), { cause: err.cause }));
    }
    return err;
  }
  const e = toCodeCellError(err);
  return new TRPCError({ code: ERROR_CODE_TABLE[e.code].trpc, message: e.message, cause: e });
}

/** The CodeCell code of a TRPCError (from its cause, else from its tRPC code). */
export function codecellCodeOf(err: TRPCError): ErrorCode {
  if (err.cause instanceof CodeCellError) return err.cause.code;
  switch (err.code) {
    case 'PARSE_ERROR':
      return 'bad_json';
    case 'BAD_REQUEST':
      return 'invalid_request';
    case 'NOT_FOUND':
      return 'not_found';
    case 'METHOD_NOT_SUPPORTED':
      return 'method_not_allowed';
    case 'PAYLOAD_TOO_LARGE':
      return 'payload_too_large';
    default:
      return 'internal_error';
  }
}

interface IssueList {
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>;
}

function isIssueList(x: unknown): x is IssueList {
  return typeof x === 'object' && x !== null && Array.isArray((x as { issues?: unknown }).issues);
}

/** `files.0.path: path may not contain ".." segments; entry: ...` */
export function formatIssues(issues: IssueList['issues']): string {
  const parts = issues.map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message));
  return `invalid input: ${parts.join('; ')}`;
}
