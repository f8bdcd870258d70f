/**
 * Issue 14: a run outlives the gateway that submitted it. That gateway was
 * the one to record its end in the room, put the files it wrote into the room
 * and charge its CPU time; once it is gone (stopped, or dead and out of the
 * `gateways` hash), another gateway adopts its runs and does it instead, each
 * run once. Real Redis, fake hosts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis } from '@codecell/server-kit/test';
import type { TestRedis } from '@codecell/server-kit/test';
import { FleetHarness, eventually, runInput } from '../test/fleetHarness.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('issue 14: runs of a gateway that is gone', () => {
  it('are adopted by another gateway: the files a run writes afterwards and its CPU time land there, once', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const b = f.gateway();
    const c = f.gateway();
    const h = await f.host({ capacity: 2 });
    const owner = { key: 'user:ada', userId: 'ada', displayName: 'Ada' };
    const { jobId } = await a.runs.submit(runInput('long', { roomId: 'room' }), owner);
    const done = await a.runs.submit(runInput('short', { roomId: 'room' }), owner);
    const run = await h.runner.nth(0);
    run.start();
    run.push({ type: 'file', path: 'early.txt', size: 2, encoding: 'utf8', content: 'e\n', truncated: false });
    await eventually(() => a.files.length === 1, 'A put the early file into the room');
    // A's second run ends while A lives: A charges it, nobody adopts it.
    const second = await h.runner.nth(1);
    second.start();
    second.exit('ok');
    await eventually(() => a.ended.some((r) => r.jobId === done.jobId), 'A saw its second run end');
    expect(await a.fleet.redis.smembers(a.fleet.keys.followed(a.id))).toEqual([jobId]);
    // A goes (its process ends: it follows nothing more and leaves the gateways hash).
    await a.runs.dispose();
    await a.fleet.dispose();
    run.push({ type: 'file', path: 'late.txt', size: 2, encoding: 'utf8', content: 'l\n', truncated: false });
    run.exit('ok');
    await Promise.all([b.fleet.adopter?.sweep(), c.fleet.adopter?.sweep()]);
    await eventually(() => b.ended.length + c.ended.length === 1, 'one gateway adopted the run and saw it end');
    const adopter = b.ended.length === 1 ? b : c;
    const other = adopter === b ? c : b;
    expect(adopter.ended[0]).toMatchObject({ jobId, owner, cpuMs: 5, status: 'ok', adopted: true });
    // The file written after A went reaches the room through the adopter; the early one, put there by A, is not put twice.
    await eventually(() => adopter.files.length === 1, 'the adopter put the late file into the room');
    expect(adopter.files.map((x) => [x.roomId, x.jobId, x.file.path, x.file.content])).toEqual([['room', jobId, 'late.txt', 'l\n']]);
    expect(other.files).toEqual([]);
    expect(other.ended).toEqual([]);
    // Sweeping again adopts nothing more; the adopter released the run once it ended.
    await Promise.all([b.fleet.adopter?.sweep(), c.fleet.adopter?.sweep()]);
    await new Promise((r) => setTimeout(r, 100));
    expect(b.ended.length + c.ended.length).toBe(1);
    await eventually(async () => (await adopter.fleet.redis.scard(adopter.fleet.keys.followed(adopter.id))) === 0, 'released by the adopter');
    expect(await adopter.fleet.redis.exists(adopter.fleet.keys.followed(a.id))).toBe(0);
    // Nothing of A is left to look through.
    expect(await adopter.fleet.redis.sismember(adopter.fleet.keys.followers, a.id)).toBe(0);
  });

  it('a run followed twice (adopted from a gateway only thought gone) is charged once, by the gateway holding it', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const b = f.gateway();
    const h = await f.host();
    const { jobId } = await a.runs.submit(runInput('x', { roomId: 'room3' }), { key: 'user:cy', userId: 'cy', displayName: 'Cy' });
    const run = await h.runner.nth(0);
    run.start();
    // A stops heartbeating (a stalled process) but still follows its run; B takes it as gone and adopts.
    await a.fleet.presence.dispose();
    await b.fleet.adopter?.sweep();
    await eventually(() => b.runs.isFollowing(jobId), 'B follows the run too');
    expect(a.runs.isFollowing(jobId)).toBe(true);
    run.exit('ok');
    await eventually(() => b.ended.length === 1, 'B charged the run');
    await new Promise((r) => setTimeout(r, 200));
    expect(a.ended).toEqual([]);
    expect(b.ended[0]).toMatchObject({ jobId, adopted: true });
  });

  it('a gateway restarted under the same id adopts what its earlier process left; a run that ended meanwhile is charged from its replay', async () => {
    await using f = new FleetHarness(redis.url);
    const h = await f.host();
    const first = f.gateway({ gatewayId: 'gw-fixed' });
    const owner = { key: 'user:bob', userId: 'bob', displayName: 'Bob' };
    const { jobId } = await first.runs.submit(runInput('x', { roomId: 'room2' }), owner);
    const run = await h.runner.nth(0);
    run.start();
    await first.runs.dispose();
    await first.fleet.dispose();
    run.exit('ok'); // while no gateway follows it
    const again = f.gateway({ gatewayId: 'gw-fixed' });
    await again.fleet.adopter?.sweep();
    await eventually(() => again.ended.length === 1, 'the restarted gateway charged the run');
    expect(again.ended[0]).toMatchObject({ jobId, owner, cpuMs: 5, adopted: true });
  });
  it("a terminal session is adopted as a session: its later files reach the room, its CPU time is charged once, it is no run", async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const b = f.gateway();
    const h = await f.host();
    const owner = { key: 'user:ada', userId: 'ada', displayName: 'Ada' };
    const shell = await a.terminals.open({ roomId: 'room', program: 'bash', size: { cols: 80, rows: 24 }, owner });
    const term = await h.runner.nthTerminal(0);
    term.start();
    await a.runs.dispose();
    await a.fleet.dispose();
    term.push({ type: 'file', path: 'late.txt', size: 2, encoding: 'utf8', content: 'l\n', truncated: false });
    await b.fleet.adopter?.sweep();
    await eventually(() => b.files.length === 1, 'the adopter put the file into the room');
    expect(b.files[0]).toMatchObject({ roomId: 'room', jobId: shell.jobId, file: { path: 'late.txt' } });
    // B's members still see the shell, and join it.
    expect((await b.terminals.open({ roomId: 'room', program: 'bash', size: { cols: 80, rows: 24 }, owner })).jobId).toBe(shell.jobId);
    term.exit('ok');
    await eventually(() => b.terminalsEnded.length === 1, 'the adopter charged the session');
    expect(b.terminalsEnded).toEqual([{ jobId: shell.jobId, cpuMs: 5 }]);
    expect(b.ended).toEqual([]);
  });
  it('a shell followed twice (adopted from a gateway that only stalled) is charged once', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const b = f.gateway();
    const h = await f.host();
    const shell = await a.terminals.open({ roomId: 'room', program: 'bash', size: { cols: 80, rows: 24 }, owner: { key: 'user:cy', userId: 'cy', displayName: 'Cy' } });
    const term = await h.runner.nthTerminal(0);
    term.start();
    // A stops reporting (it looks gone) but still follows the shell; B adopts it.
    await a.fleet.presence.dispose();
    await b.fleet.adopter?.sweep();
    await eventually(() => b.runs.isFollowing(shell.jobId), 'B follows the shell');
    term.exit('ok');
    await eventually(() => b.terminalsEnded.length === 1, 'B charged the shell');
    await new Promise((r) => setTimeout(r, 200));
    expect(a.terminalsEnded).toEqual([]);
  });
});
