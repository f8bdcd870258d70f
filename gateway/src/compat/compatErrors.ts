/**
 * Run endings the compatible APIs report as a refused request rather than as
 * a result: a run that never started because the sandbox found its input bad
 * (an error code whose HTTP status is 4xx, e.g. `source_too_large`).
 * @module
 */
import { ERROR_CODE_TABLE, errorCodeSchema } from '@codecell/protocol';
import type { ErrorCode } from '@codecell/protocol';
import type { RunOutcome } from './runOutcome.js';

/** The error code of a run that never started, or null. */
export function failedBeforeStart(outcome: RunOutcome): ErrorCode | null {
  if (outcome.endedIn !== null) return null;
  const code = errorCodeSchema.safeParse(outcome.status);
  return code.success ? code.data : 'internal_error';
}

/** True for error codes that blame the request (HTTP 4xx). */
export function isClientError(code: ErrorCode): boolean {
  return ERROR_CODE_TABLE[code].http < 500;
}
