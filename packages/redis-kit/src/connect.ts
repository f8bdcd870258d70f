/**
 * Opening Redis connections the way fleet mode needs them: commands wait
 * (and are resent) while Redis restarts instead of failing, reconnects back
 * off up to a second, and a connection has a name that shows in `CLIENT LIST`.
 * @module
 */
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';

/** Longest wait between reconnect attempts, ms. */
export const REDIS_MAX_RECONNECT_DELAY_MS = 1_000;

/** Options of {@link connectRedis}. */
export interface ConnectRedisOptions {
  /** `redis://[:password@]host:port[/db]` (REDIS_URL). */
  readonly url: string;
  /** Shown by `CLIENT LIST`, e.g. `codecell-gateway`. */
  readonly name: string;
  /** Called with each connection error (they repeat while Redis is down). */
  readonly onError?: (err: Error) => void;
}

/** A connection that retries forever (BullMQ needs `maxRetriesPerRequest: null`). */
export function connectRedis(o: ConnectRedisOptions): Redis {
  const options: RedisOptions = {
    connectionName: o.name,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(50 * times, REDIS_MAX_RECONNECT_DELAY_MS),
  };
  const redis = new Redis(o.url, options);
  redis.on('error', (err: Error) => o.onError?.(err));
  return redis;
}

/** Runs a Lua script (`EVAL`, so a restarted Redis needs nothing loaded). */
export async function evalScript(redis: Redis, o: { script: string; keys: readonly string[]; args: readonly (string | number)[] }): Promise<unknown> {
  return redis.eval(o.script, o.keys.length, ...o.keys, ...o.args);
}

/** `HGETALL` → a plain record (empty when the key does not exist). */
export async function readHash(redis: Redis, key: string): Promise<Record<string, string>> {
  return redis.hgetall(key);
}

/** Quits politely, or drops the connection when Redis does not answer within `timeoutMs`. Safe to call twice. */
export async function closeRedis(redis: Redis, timeoutMs = 1_000): Promise<void> {
  if (redis.status === 'end') return;
  const timer = setTimeout(() => redis.disconnect(false), timeoutMs);
  try {
    await redis.quit();
  } catch {
    redis.disconnect(false);
  } finally {
    clearTimeout(timer);
  }
}
