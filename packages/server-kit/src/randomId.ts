/**
 * Random ids for runs, jobs and their requests, cut from a pool of bytes that
 * the system's CSPRNG fills 4 KiB at a time (as `crypto.randomUUID` does by
 * default). A `randomBytes` call of its own costs ~0.1 ms cold on this PVM
 * host, a pooled id ~0.02 ms, and a run's id is made on its way to the
 * sandbox (issue 12's first-output budget). Each byte is used once. Not for
 * secrets: tokens and keys come from `randomBytes` itself, so none of them
 * ever waits in a pool in memory.
 * @module
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
/** The most one id may take. */
export const MAX_RANDOM_ID_BYTES = 256;

const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

/**
 * `bytes` random bytes as base64url: 12 bytes (96 bits) make 16 characters.
 * @throws RangeError unless `bytes` is an integer from 1 to {@link MAX_RANDOM_ID_BYTES}
 * @example
 * const jobId = randomId(); // 'Yw3n0_4sEiRb2Qkq'
 */
export function randomId(bytes = 12): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > MAX_RANDOM_ID_BYTES) {
    throw new RangeError(`randomId takes 1 to ${MAX_RANDOM_ID_BYTES} bytes, not ${bytes}`);
  }
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + bytes);
  offset += bytes;
  return id;
}
