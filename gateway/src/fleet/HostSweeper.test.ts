import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { fleetKeys } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import { startTestRedis } from '@codecell/server-kit/test';
import type { RunLogPort } from '../runs/ports.js';
import type { HostDirectory } from './HostDirectory.js';
import { HostSweeper } from './HostSweeper.js';
import type { RedisRunQueue } from './RedisRunQueue.js';

describe('HostSweeper', () => {
  it('sweeps the other dead hosts when one host’s sweep fails, and tells why', async () => {
    await using server = await startTestRedis();
    const redis = new Redis(server.url);
    try {
      const keys = fleetKeys('sweep-test');
      await redis.sadd(keys.hosts, 'broken', 'gone');
      const forgotten: string[] = [];
      // Only what a dead host with nothing in flight or waiting needs: its queues, and forgetting it.
      const queue = {
        queueOf: (hostId: string) => ({
          getJobs: async () => {
            if (hostId === 'broken') throw new Error('its queue cannot be read');
            return [];
          },
        }),
        forget: async (hostId: string) => void forgotten.push(hostId),
      } as unknown as RedisRunQueue;
      const hosts = { hosts: async () => ({ live: [], dead: ['broken', 'gone'] }) } as unknown as HostDirectory;
      const warnings: string[] = [];
      const logger: Logger = { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (msg, data) => void warnings.push(`${msg} ${String(data?.['hostId'])}`) };
      const sweeper = new HostSweeper({ redis, keys, hosts, queue, log: {} as RunLogPort, logger, owner: 'gw-test' });
      await sweeper.sweep();
      expect(forgotten).toEqual(['gone']);
      expect((await redis.smembers(keys.hosts)).sort()).toEqual(['broken']);
      expect(warnings).toContain('sweeping a sandbox host failed; the next pass tries again broken');
      await sweeper.dispose();
    } finally {
      redis.disconnect();
    }
  });
});
