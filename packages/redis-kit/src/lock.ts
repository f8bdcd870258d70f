/**
 * A short lock on Redis (`SET key token NX PX ttl`) around one piece of work
 * that one process of a fleet should do at a time: sweeping a dead host,
 * adopting a gone gateway's runs. Released only by its holder: a holder whose
 * lock lapsed (it took longer than the TTL) does not free another's.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { evalScript } from './connect.js';

/** KEYS: the lock. ARGV: the holder's token. Deletes the lock if it is still that holder's. */
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** Options of {@link withRedisLock}. */
export interface RedisLockOptions {
  readonly key: string;
  /** How long the lock holds if its holder never releases it (it died), ms. */
  readonly ttlMs: number;
  /** Who holds it (shown in Redis). @default a random token */
  readonly token?: string;
}

/**
 * Runs `fn` holding the lock `o.key`; resolves false at once (without
 * running it) when another holds it. The lock is released when `fn` settles,
 * even when it throws (the throw goes on).
 * @example
 * await withRedisLock(redis, { key: keys.sweepLock(hostId), ttlMs: 10_000 }, () => sweep(hostId));
 */
export async function withRedisLock(redis: Redis, o: RedisLockOptions, fn: () => Promise<void>): Promise<boolean> {
  const token = `${o.token ?? 'lock'}:${randomBytes(6).toString('hex')}`;
  if ((await redis.set(o.key, token, 'PX', o.ttlMs, 'NX')) !== 'OK') return false;
  try {
    await fn();
  } finally {
    await evalScript(redis, { script: RELEASE_SCRIPT, keys: [o.key], args: [token] });
  }
  return true;
}
