/**
 * Issue 14: every fleet script may run twice (a command resent after Redis
 * came back, when Redis had run it but its reply was lost). Run twice, each
 * changes the run once.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLEET_SCRIPTS, fleetKeys } from '@codecell/protocol';
import { startTestRedis } from '@codecell/server-kit/test';
import type { TestRedis } from '@codecell/server-kit/test';
import { closeRedis, connectRedis, evalScript } from './connect.js';

let server: TestRedis;
beforeAll(async () => {
  server = await startTestRedis();
});
afterAll(async () => {
  await server?.stop();
});

describe('issue 14: fleet scripts are idempotent', () => {
  it('taking a run twice is one take by that host; another host cannot take it; a batch appended twice is there once', async () => {
    const redis = connectRedis({ url: server.url, name: 'test' });
    const keys = fleetKeys(`t${randomBytes(4).toString('hex')}`);
    const meta = keys.runMeta('j1');
    await redis.hset(meta, { state: 'queued', seq: '0' });
    const take = (host: string) => evalScript(redis, { script: FLEET_SCRIPTS.moveState, keys: [meta], args: ['queued', 'starting', host] });
    expect(await take('h1')).toBe(1);
    expect(await take('h1')).toBe(1);
    expect(await take('h2')).toBe(0);
    const args = [1, 1, JSON.stringify({ type: 'stdout', data: 'once' }), ''];
    const append = { script: FLEET_SCRIPTS.appendEvents, keys: [meta, keys.runLog('j1'), keys.runFiles('j1')], args };
    expect(await evalScript(redis, append)).toHaveLength(1);
    expect(await evalScript(redis, append)).toBe('dup');
    const log = await redis.xrange(keys.runLog('j1'), '-', '+');
    expect(log.map(([, f]) => f[f.length - 1])).toEqual(['{"type":"stdout","data":"once"}']);
    await closeRedis(redis);
  });

  it('a stdin chunk sent twice with its id is queued once', async () => {
    const redis = connectRedis({ url: server.url, name: 'test' });
    const keys = fleetKeys(`t${randomBytes(4).toString('hex')}`);
    await redis.hset(keys.runMeta('j'), { state: 'running', stdinPending: '0' });
    const send = () =>
      evalScript(redis, {
        script: FLEET_SCRIPTS.sendStdin,
        keys: [keys.runMeta('j'), keys.runControl('j'), keys.runStdinIds('j')],
        args: [JSON.stringify({ op: 'stdin', data: 'x', eof: false }), 1, '0', 1024, 60_000, 'chunk-1'],
      });
    expect(await send()).toBe('ok');
    expect(await send()).toBe('ok');
    expect(await redis.xlen(keys.runControl('j'))).toBe(1);
    expect(await redis.hget(keys.runMeta('j'), 'stdinPending')).toBe('1');
    await closeRedis(redis);
  });
  it("a room's host: the first gateway to place it wins; a host extends only its own room, and takes a room it started a run of", async () => {
    const redis = connectRedis({ url: server.url, name: 'test' });
    const keys = fleetKeys(`t${randomBytes(4).toString('hex')}`);
    const key = keys.session('room');
    const claim = (seen: string, host: string) => evalScript(redis, { script: FLEET_SCRIPTS.claimSession, keys: [key], args: [seen, host, 60_000] });
    const extend = (host: string) => evalScript(redis, { script: FLEET_SCRIPTS.extendSession, keys: [key], args: [host, 60_000] });
    // Two gateways saw no host and chose differently: both get h1.
    expect(await claim('', 'h1')).toBe('h1');
    expect(await claim('', 'h2')).toBe('h1');
    // h1 died: a gateway that saw h1 moves the room; one that still saw nobody does not.
    expect(await claim('h1', 'h2')).toBe('h2');
    expect(await claim('', 'h3')).toBe('h2');
    // A session of the room still on h1 does not take it back by extending.
    expect(await extend('h1')).toBe(0);
    expect(await extend('h2')).toBe(1);
    expect(await redis.get(key)).toBe('h2');
    await redis.del(key);
    expect(await extend('h1')).toBe(1);
    expect(await redis.get(key)).toBe('h1');
    await closeRedis(redis);
  });
});
