/** withRedisLock on a real Redis: one holder at a time, released when done or thrown, never another's. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis } from '@codecell/server-kit/test';
import type { TestRedis } from '@codecell/server-kit/test';
import type { Redis } from 'ioredis';
import { closeRedis, connectRedis } from './connect.js';
import { withRedisLock } from './lock.js';

let server: TestRedis;
let redis: Redis;
beforeAll(async () => {
  server = await startTestRedis();
  redis = connectRedis({ url: server.url, name: 'lock-test' });
});
afterAll(async () => {
  await closeRedis(redis);
  await server?.stop();
});

describe('withRedisLock', () => {
  it('runs one holder at a time and frees the lock when done, or when the work throws', async () => {
    let inside = 0;
    let ran = 0;
    const work = async (): Promise<void> => {
      inside++;
      ran++;
      expect(inside).toBe(1);
      await new Promise((r) => setTimeout(r, 50));
      inside--;
    };
    const results = await Promise.all([1, 2, 3].map(() => withRedisLock(redis, { key: 'l1', ttlMs: 5_000, token: 'gw' }, work)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(ran).toBe(1);
    expect(await redis.exists('l1')).toBe(0);
    await expect(withRedisLock(redis, { key: 'l1', ttlMs: 5_000 }, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await redis.exists('l1')).toBe(0);
  });

  it('a holder whose lock lapsed does not free the lock another took since', async () => {
    const held = await withRedisLock(redis, { key: 'l2', ttlMs: 100 }, async () => {
      await new Promise((r) => setTimeout(r, 200));
      // Lapsed: another gateway takes it.
      expect(await redis.set('l2', 'other', 'PX', 5_000, 'NX')).toBe('OK');
    });
    expect(held).toBe(true);
    expect(await redis.get('l2')).toBe('other');
  });
});
