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
  /** `redis://[[user]:password@]host:port[/db]`, `rediss://…` (TLS) or `unix:/path/to/redis.sock` (REDIS_URL). */
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
  const redis = new Redis({ ...redisAddress(o.url), ...options });
  redis.on('error', (err: Error) => o.onError?.(err));
  return redis;
}

/** Where a REDIS_URL points, as ioredis options (any ioredis version takes these). */
export interface RedisAddress {
  readonly host?: string;
  readonly port?: number;
  /** Unix socket. */
  readonly path?: string;
  readonly username?: string;
  readonly password?: string;
  readonly db?: number;
  readonly tls?: Record<string, never>;
}

/**
 * Parses a REDIS_URL: `redis://[[user]:password@]host[:port][/db]`,
 * `rediss://…` (TLS) or `unix:/path/to/redis.sock[?db=N]`.
 * @throws Error saying what a valid URL looks like
 */
export function redisAddress(url: string): RedisAddress {
  if (url.startsWith('unix:')) {
    const [path = '', query = ''] = url.slice('unix:'.length).split('?');
    if (!path.startsWith('/')) throw new Error(`a Redis Unix socket is given as unix:/absolute/path (got ${url})`);
    const db = new URLSearchParams(query).get('db');
    return { path, ...(db === null ? {} : { db: Number(db) }) };
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`expected redis://host:port, rediss://host:port or unix:/path (got ${url})`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`expected redis://, rediss:// or unix: (got ${u.protocol})`);
  const db = u.pathname.replace(/^\//, '');
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port === '' ? 6379 : Number(u.port),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db === '' ? {} : { db: Number(db) }),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** Runs a Lua script (`EVAL`, so a restarted Redis needs nothing loaded). */
export async function evalScript(redis: Redis, o: { script: string; keys: readonly string[]; args: readonly (string | number)[] }): Promise<unknown> {
  return redis.eval(o.script, o.keys.length, ...o.keys, ...o.args);
}

/** `HGETALL` → a plain record (empty when the key does not exist). */
export async function readHash(redis: Redis, key: string): Promise<Record<string, string>> {
  return redis.hgetall(key);
}

/** Quits politely, or drops the connection when Redis does not answer within `timeoutMs` (its quit may never settle then). Safe to call twice. */
export async function closeRedis(redis: Redis, timeoutMs = 1_000): Promise<void> {
  if (redis.status === 'end') return;
  const quit = redis.quit().catch(() => undefined);
  if (!(await settleWithin(quit, timeoutMs))) redis.disconnect(false);
}

/**
 * Waits for `work` at most `ms`, never throwing: shutdown steps that talk to
 * Redis must not hang while Redis is away (commands wait for it otherwise).
 * Resolves true when `work` settled in time.
 */
export async function settleWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([work.then(() => true, () => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  clearTimeout(timer);
  return settled;
}
