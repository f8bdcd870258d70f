/**
 * Issue 14 (with issue 12): a room's terminal sessions in a fleet (fake VMs,
 * real Redis started by the test). A shell opened through gateway A is the
 * room's shell on gateway B too: B lists it, joins it, types into it, resizes
 * it and watches it; two gateways opening at once start one; it runs on the
 * room's host, beside the room's runs, taking no run slot; its files go into
 * the room and its CPU time is charged once; a dead or draining host ends it
 * with sandbox_unavailable and the next opening starts on another host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodeCellError } from '@codecell/protocol';
import type { OpenTerminal } from '@codecell/protocol';
import { startTestRedis } from '@codecell/server-kit/test';
import type { TestRedis } from '@codecell/server-kit/test';
import type { RunOwner } from '../runs/types.js';
import { FleetHarness, eventually, runInput, stdoutOf, watch } from '../test/fleetHarness.js';
import type { TestGateway } from '../test/fleetHarness.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const ada: RunOwner = { key: 'u:ada', userId: 'ada', displayName: 'Ada' };
const bob: RunOwner = { key: 'u:bob', userId: 'bob', displayName: 'Bob' };
const size = { cols: 80, rows: 24 };

/** Follows a room's terminal list on a gateway; `now` is the latest list told. */
async function follow(gw: TestGateway, roomId: string): Promise<{ now: () => OpenTerminal[]; stop: () => void }> {
  let latest: OpenTerminal[] = [];
  const stop = await gw.terminals.follow(roomId, (open) => (latest = open));
  return { now: () => latest, stop };
}

describe('issue 14: terminal sessions in a fleet', () => {
  it("a shell opened through A is the room's shell on B: listed, joined, typed into, resized and watched there", async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const b = f.gateway();
    const h1 = await f.host({ capacity: 1, hostId: 'h1' });
    const onA = await follow(a, 'room');
    const onB = await follow(b, 'room');
    expect(onB.now()).toEqual([]);
    const shell = await a.terminals.open({ roomId: 'room', program: 'bash', size, files: [{ path: 'main.py', content: 'print(1)' }], owner: ada });
    expect(shell).toMatchObject({ program: 'bash', startedBy: 'Ada' });
    const term = await h1.runner.nthTerminal(0);
    expect(term.terminal).toMatchObject({ sessionId: 'room', program: 'bash', size, files: [{ path: 'main.py' }] });
    // B's members see it open without asking, and joining it joins the same session.
    await eventually(() => onB.now().length === 1, "B's follower told of the shell");
    expect(onB.now()).toEqual([shell]);
    expect(onA.now()).toEqual([shell]);
    expect(await b.terminals.open({ roomId: 'room', program: 'bash', size, owner: bob })).toEqual(shell);
    expect(h1.runner.terminals).toHaveLength(1);
    // Typed, resized and watched through B.
    term.start();
    term.push({ type: 'stdout', data: '$ ' });
    await b.runs.sendStdin({ jobId: shell.jobId, data: 'ls\r' });
    await b.runs.resize(shell.jobId, { cols: 120, rows: 40 });
    await eventually(() => term.stdin.length === 1 && term.resizes.length === 1, 'stdin and resize reached the host');
    expect(term.stdin).toEqual([{ data: 'ls\r', eof: false }]);
    expect(term.resizes).toEqual([{ cols: 120, rows: 40 }]);
    term.push({ type: 'stdout', data: 'main.py\r\n$ ' });
    await eventually(async () => stdoutOf((await watch(b.runs, shell.jobId)).replay) === '$ main.py\r\n$ ', "B replays the shell's screen");
    // The room's run goes to the shell's host, and the shell holds none of its one slot.
    const second = await f.host({ capacity: 4, hostId: 'h2' });
    await eventually(async () => (await b.fleet.hosts.hosts(true)).live.length === 2, 'h2 registered');
    const run = await b.runs.submit(runInput('print(2)', { roomId: 'room' }));
    expect(run.position).toBe(0);
    (await h1.runner.nth(0)).exit('ok');
    expect(second.runner.runs).toHaveLength(0);
    // A file the shell wrote goes into the room through the gateway that opened it.
    term.push({ type: 'file', path: 'out.txt', size: 3, encoding: 'utf8', content: 'hi\n', truncated: false });
    await eventually(() => a.files.length === 1, 'the file reached A');
    expect(a.files[0]).toMatchObject({ roomId: 'room', jobId: shell.jobId, file: { path: 'out.txt', content: 'hi\n' } });
    expect(b.files).toEqual([]);
    // When it exits, every gateway's members see the room without a shell; its CPU time is charged once, by A.
    term.exit('ok');
    await eventually(() => onA.now().length === 0 && onB.now().length === 0, 'both followers told the shell ended');
    await eventually(() => a.terminalsEnded.length === 1, 'A charged the session');
    expect(a.terminalsEnded).toEqual([{ jobId: shell.jobId, cpuMs: 5 }]);
    expect(b.terminalsEnded).toEqual([]);
    // Not a run of the room, nor a run's end.
    await eventually(() => b.ended.length === 1, 'B saw its run end');
    expect(b.ended.map((r) => r.jobId)).toEqual([run.jobId]);
    expect(a.ended).toEqual([]);
    // Opening it again starts a new one.
    const again = await b.terminals.open({ roomId: 'room', program: 'bash', size, owner: bob });
    expect(again.jobId).not.toBe(shell.jobId);
    await eventually(() => onA.now().map((t) => t.jobId).join() === again.jobId, "A's follower told of the new shell");
    onA.stop();
    onB.stop();
  }, 30_000);

  it('two gateways opening the same program at once start one session; another program is another session', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const b = f.gateway();
    const h = await f.host({ hostId: 'h1' });
    const opened = await Promise.all([
      a.terminals.open({ roomId: 'r', program: 'python', size, owner: ada }),
      b.terminals.open({ roomId: 'r', program: 'python', size, owner: bob }),
      a.terminals.open({ roomId: 'r', program: 'python', size, owner: ada }),
      b.terminals.open({ roomId: 'r', program: 'bash', size, owner: bob }),
    ]);
    const [p1, p2, p3, sh] = opened;
    expect(p2?.jobId).toBe(p1?.jobId);
    expect(p3?.jobId).toBe(p1?.jobId);
    expect(sh?.jobId).not.toBe(p1?.jobId);
    await eventually(() => h.runner.terminals.length === 2, 'two sessions reached the host');
    await new Promise((r) => setTimeout(r, 100));
    expect(h.runner.terminals.map((t) => t.terminal?.program).sort()).toEqual(['bash', 'python']);
    expect((await a.terminals.list('r')).map((t) => t.program)).toEqual(['bash', 'python']);
    // The losers' logs are gone: nothing of them is left to follow or to adopt.
    expect(await a.fleet.redis.smembers(a.fleet.keys.roomRuns('r'))).toHaveLength(2);
    // Stopping the room (it is deleted) ends them.
    await b.runs.stopRoom('r');
    await eventually(async () => (await b.terminals.list('r')).length === 0, 'the sessions ended');
    expect(h.runner.terminals.every((t) => t.kills === 1)).toBe(true);
  }, 20_000);

  it('a dead host ends its shell with sandbox_unavailable and the next opening starts on another host; a draining host ends its shells', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const b = f.gateway();
    const h1 = await f.host({ hostId: 'h1' });
    const onB = await follow(b, 'room');
    const shell = await a.terminals.open({ roomId: 'room', program: 'bash', size, owner: ada });
    const term = await h1.runner.nthTerminal(0);
    term.start();
    const watching = await watch(b.runs, shell.jobId);
    const h2 = await f.host({ hostId: 'h2' });
    await eventually(async () => (await a.fleet.hosts.hosts(true)).live.length === 2, 'h2 registered');
    await h1.host.halt();
    const ended = await watching.ended;
    expect(ended.at(-1)).toMatchObject({ type: 'end', status: 'sandbox_unavailable', message: expect.stringMatching(/host h1 stopped while this terminal session was in flight.*open it again/) });
    await eventually(() => onB.now().length === 0, "B's follower told the shell ended");
    const next = await b.terminals.open({ roomId: 'room', program: 'bash', size, owner: bob });
    const onH2 = await h2.runner.nthTerminal(0);
    expect(next.jobId).not.toBe(shell.jobId);
    onH2.start();
    // h2 drains (SIGTERM): its shell ends at once, saying so; its runs would be finished first.
    const watchingNext = await watch(a.runs, next.jobId);
    const drained = h2.host.drain(5_000);
    const endedNext = await watchingNext.ended;
    expect(endedNext.at(-1)).toMatchObject({ type: 'end', status: 'sandbox_unavailable', message: expect.stringMatching(/draining/) });
    expect(await drained).toBe(true);
    expect(onH2.kills).toBe(1);
    onB.stop();
  }, 30_000);

  it('a session the sandbox refuses ends with its error and frees the program for the next opening', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    await f.host({ hostId: 'h1', refuseTerminals: new CodeCellError('capacity_exceeded', 'session room has 4 terminal sessions open already') });
    const shell = await a.terminals.open({ roomId: 'room', program: 'bash', size, owner: ada });
    const ended = await (await watch(a.runs, shell.jobId)).ended;
    expect(ended.at(-1)).toMatchObject({ type: 'end', status: 'capacity_exceeded', message: expect.stringMatching(/4 terminal sessions/) });
    await eventually(async () => (await a.terminals.list('room')).length === 0, 'nothing listed');
    const again = await a.terminals.open({ roomId: 'room', program: 'bash', size, owner: ada });
    expect(again.jobId).not.toBe(shell.jobId);
  });

  it('with no sandbox host, opening a shell says so and leaves nothing behind', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    await expect(a.terminals.open({ roomId: 'room', program: 'bash', size, owner: ada })).rejects.toMatchObject({ code: 'sandbox_unavailable', message: expect.stringMatching(/no sandbox host/) });
    expect(await a.terminals.list('room')).toEqual([]);
    expect(await a.fleet.redis.smembers(a.fleet.keys.roomRuns('room'))).toEqual([]);
    expect(await a.fleet.redis.hlen(a.fleet.keys.roomTerminals('room'))).toBe(0);
  });
  it("a shell open longer than the room's session TTL keeps the room's runs on its host, and its facts past a day", async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const h1 = await f.host({ hostId: 'h1', capacity: 1, sessionTtlMs: 1_000 });
    const shell = await a.terminals.open({ roomId: 'room', program: 'bash', size, owner: ada });
    (await h1.runner.nthTerminal(0)).start();
    const h2 = await f.host({ hostId: 'h2', capacity: 8, auto: { delayMs: 5 } });
    await eventually(async () => (await a.fleet.hosts.hosts(true)).live.length === 2, 'h2 registered');
    // As if a day had passed: the shell's facts and its entry in the room are about to expire.
    const { redis: rd, keys } = a.fleet;
    await rd.pexpire(keys.runMeta(shell.jobId), 1_500);
    await rd.pexpire(keys.roomTerminals('room'), 1_500);
    // Past the TTL the shell still holds the room's VM on h1: the room's run goes there, not to the freer h2.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await rd.pttl(keys.runMeta(shell.jobId))).toBeGreaterThan(3_600_000);
    expect(await rd.pttl(keys.roomTerminals('room'))).toBeGreaterThan(3_600_000);
    expect((await a.terminals.list('room')).map((t) => t.jobId)).toEqual([shell.jobId]);
    await a.runs.submit(runInput('print(1)', { roomId: 'room' }));
    await h1.runner.nth(0);
    expect(h2.runner.runs).toHaveLength(0);
  }, 20_000);
  it('a session no host took (its gateway or host died first) does not hold the program', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const h = await f.host({ hostId: 'h1' });
    const { redis: r, keys } = a.fleet;
    // Left behind: claimed and queued on a live host long ago, never taken.
    const ghost = 'ghostghostghost1';
    await r.hset(keys.runMeta(ghost), { state: 'queued', hostId: 'h1', submittedAt: String(Date.now() - 30 * 60_000), terminal: '1', tty: '1', sessionId: 'room', startedBy: '', owner: '', seq: '0', stdinPending: '0' });
    await r.hset(keys.roomTerminals('room'), 'bash', JSON.stringify({ program: 'bash', jobId: ghost, startedBy: null }));
    expect(await a.terminals.list('room')).toEqual([]);
    const shell = await a.terminals.open({ roomId: 'room', program: 'bash', size, owner: ada });
    expect(shell.jobId).not.toBe(ghost);
    await h.runner.nthTerminal(0);
  });

});
