/**
 * The tRPC instance: errors carry `data.codecellCode` (an `ErrorCode`) and,
 * for `quota_exceeded`, `data.quota` (which quota, its limit, use and reset).
 * @module
 */
import { initTRPC } from '@trpc/server';
import type { ErrorCode, QuotaDetails } from '@codecell/protocol';
import { QuotaExceededError } from '../quotas/QuotaExtension.js';
import type { GatewayContext } from './context.js';
import { codecellCodeOf, toTRPCError } from './errors.js';

const t = initTRPC.context<GatewayContext>().create({
  // Never send stack traces to browsers.
  isDev: false,
  errorFormatter({ shape, error }): typeof shape & { data: typeof shape.data & { codecellCode: ErrorCode; quota?: QuotaDetails } } {
    const quota = error.cause instanceof QuotaExceededError ? { quota: error.cause.details } : {};
    return { ...shape, data: { ...shape.data, codecellCode: codecellCodeOf(error), ...quota } };
  },
});

/** Re-throws whatever a procedure (or its input parser) threw as a mapped TRPCError. */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) throw toTRPCError(result.error);
  return result;
});

/** Every procedure: errors mapped through ERROR_CODE_TABLE. */
export const procedure = t.procedure.use(mapErrors);
export const router = t.router;

/** `{ ok: true }` once `work` is done: the answer of mutations with nothing else to say. */
export async function done(work: Promise<void>): Promise<{ ok: true }> {
  await work;
  return { ok: true };
}
