/**
 * Issue 14 (with issue 12): a room's shell over a Redis restart longer than a
 * host's registration lives (fake VMs, real Redis started by each test). Redis
 * keeps the registration with its expiry (append-only file), so it lapses
 * while Redis is away and stays lapsed until its host is back: a gateway back
 * before the host must not take the host for gone, neither when opening the
 * room's shell (that would start a second one) nor when sweeping (that would
 * end the shell while it runs on).
 *
 * Every client lost Redis at the same moment and retries on the same schedule
 * (ioredis: 50 ms more each time), so the old ones come back together; a
 * gateway that connects once Redis is up (one started meanwhile) comes first
 * when Redis came up just after one of their retries. The outages are chosen
 * for that.
 */
import { describe, expect, it } from 'vitest';
import { HOST_TTL_MS } from '@codecell/protocol';
import type { OpenTerminal } from '@codecell/protocol';
import { startTestRedis } from '@codecell/server-kit/test';
import type { RunOwner } from '../runs/types.js';
import { FleetHarness, eventually } from '../test/fleetHarness.js';
import type { TestGateway } from '../test/fleetHarness.js';

const ada: RunOwner = { key: 'u:ada', userId: 'ada', displayName: 'Ada' };
const bob: RunOwner = { key: 'u:bob', userId: 'bob', displayName: 'Bob' };
const size = { cols: 80, rows: 24 };
/** Just after the old clients' 15th retry (~6.0 s after Redis went), long before their 16th (~6.8 s). */
const DOWN_MS = HOST_TTL_MS + 1_400;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const jobOf = (opening: Promise<OpenTerminal>): Promise<string> => opening.then((t) => t.jobId, (err: unknown) => String(err));
const openBash = (gw: TestGateway, owner: RunOwner) => jobOf(gw.terminals.open({ roomId: 'room', program: 'bash', size, owner }));

describe('issue 14: terminal sessions over a Redis restart', () => {
  it('the room keeps one shell: opened during the outage, through a gateway back before the host, and later', async () => {
    await using redis = await startTestRedis();
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const b = f.gateway();
    const h1 = await f.host({ hostId: 'h1' });
    const shell = await a.terminals.open({ roomId: 'room', program: 'bash', size, owner: ada });
    (await h1.runner.nthTerminal(0)).start();
    const opened: string[] = [];
    let lapsed = false;
    // Which client is back first is up to timing: the outage is shifted until the gateway was once.
    for (let i = 0; i < 4 && !lapsed; i++) {
      const restarting = redis.restart({ downMs: DOWN_MS + i * 250 });
      await pause(500);
      // Waits for Redis (ioredis sends it once Redis is back), as an opening during the outage does.
      const during = openBash(b, bob);
      await restarting;
      const first = f.gateway();
      lapsed = (await first.fleet.redis.exists(first.fleet.keys.host('h1'))) === 0;
      opened.push(await openBash(first, bob), await during, await openBash(a, ada));
    }
    expect(lapsed, "a gateway was back while h1's registration had lapsed").toBe(true);
    await eventually(async () => (await b.fleet.hosts.hosts(true)).live.length === 1, 'h1 registered again');
    opened.push(await openBash(b, bob));
    await pause(300);
    expect(opened).toEqual(opened.map(() => shell.jobId));
    expect(h1.runner.terminals).toHaveLength(1);
    expect(await b.terminals.list('room')).toEqual([shell]);
  }, 60_000);

  it("a gateway started while Redis was away does not take a live host for dead: the room's shell goes on", async () => {
    await using redis = await startTestRedis();
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const h1 = await f.host({ hostId: 'h1' });
    const shell = await a.terminals.open({ roomId: 'room', program: 'bash', size, owner: ada });
    const term = await h1.runner.nthTerminal(0);
    term.start();
    const started: TestGateway[] = [];
    let lapsed = false;
    // Which client is back first is up to timing (as above): tried again, shifted, until the new gateway was.
    for (let i = 0; i < 4 && !lapsed; i++) {
      const restarting = redis.restart({ downMs: DOWN_MS + i * 250 });
      // A gateway (re)started during the outage: its retries (50, 150, … 1,050 ms after it started) bring it back
      // just after Redis is, before h1; it then reads the hosts at once (its first sweep waited for Redis).
      await pause(DOWN_MS + i * 250 - 940);
      const c = f.gateway();
      started.push(c);
      c.fleet.redis.once('ready', () => void c.fleet.redis.exists(c.fleet.keys.host('h1')).then((n) => (lapsed ||= n === 0)));
      await restarting;
      // Past the first sweeps of every gateway, and h1 is back.
      await pause(2_000);
    }
    expect(lapsed, "a gateway was back while h1's registration had lapsed").toBe(true);
    expect(await a.fleet.redis.hget(a.fleet.keys.runMeta(shell.jobId), 'state')).toBe('running');
    for (const gw of [a, ...started]) expect(await openBash(gw, bob)).toBe(shell.jobId);
    expect(term.ended).toBe(false);
    expect(h1.runner.terminals).toHaveLength(1);
  }, 60_000);
});
