import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { HOST_TTL_MS, fleetKeys } from '@codecell/protocol';
import { silentLogger } from '@codecell/server-kit';
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

  it('holds sweeps off for a while after each connection, without extending a hold-off under way', async () => {
    await using server = await startTestRedis();
    const redis = new Redis(server.url);
    try {
      const keys = fleetKeys('holdoff-test');
      let now = 1_000_000;
      const swept: string[] = [];
      const queue = { queueOf: () => ({ getJobs: async () => [] }), forget: async (hostId: string) => void swept.push(`${hostId}@${now}`) } as unknown as RedisRunQueue;
      const hosts = { hosts: async () => ({ live: [], dead: ['h'] }) } as unknown as HostDirectory;
      const sweeper = new HostSweeper({ redis, keys, hosts, queue, log: {} as RunLogPort, logger: silentLogger, owner: 'gw-test', now: () => now });
      sweeper.holdOff();
      // A connection dropping every 2 s, between the heartbeat's sweeps: each new one would otherwise push them out again.
      for (let i = 0; i < 3; i++) {
        now += 2_000;
        await sweeper.sweep();
        sweeper.holdOff();
      }
      expect(swept).toEqual([`h@${1_000_000 + 6_000}`]);
      // A hold-off that had ended: the connection after it started a new one.
      now += 1_000;
      await sweeper.sweep();
      expect(swept).toHaveLength(1);
      now += HOST_TTL_MS;
      await sweeper.sweep();
      expect(swept).toHaveLength(2);
      await sweeper.dispose();
    } finally {
      redis.disconnect();
    }
  });
});
