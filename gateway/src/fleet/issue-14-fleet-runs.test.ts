/**
 * Issue 14: runs through Redis between gateways and sandbox hosts (fake VMs,
 * real Redis started by the test). Gateway B serves, feeds and stops runs
 * gateway A submitted; a room's runs stay on its host; a dead host's run in
 * flight ends with sandbox_unavailable and the room's next run goes elsewhere.
 * What a run is since issues 10-12 travels too: compile stages and their
 * events; files a run wrote reach the gateway that submitted it, with their
 * content, while every stream carries them emptied; a TTY run is resized
 * through another gateway (a pipe run refuses with not_a_terminal); the
 * runtime list comes from the hosts' registrations. Terminal sessions:
 * issue-14-fleet-terminals.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCodeInputSchema } from '@codecell/protocol';
import { silentLogger } from '@codecell/server-kit';
import { startTestRedis } from '@codecell/server-kit/test';
import type { TestRedis } from '@codecell/server-kit/test';
import { RuntimeCatalog } from '../RuntimeCatalog.js';
import { FleetHarness, eventually, runInput, stdoutOf, watch } from '../test/fleetHarness.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('issue 14: fleet runs through Redis', () => {
  it('a run submitted through gateway A streams through gateway B, with replay for a late joiner', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const b = f.gateway();
    const h = await f.host();
    const { jobId, position } = await a.runs.submit(runInput('print(1)', { roomId: 'r1' }));
    expect(position).toBe(0);
    const fromTheStart = await watch(b.runs, jobId);
    const run = await h.runner.nth(0);
    expect(run.request.source).toBe('print(1)');
    run.start();
    run.push({ type: 'stdout', data: 'hello ' });
    await eventually(async () => stdoutOf((await watch(b.runs, jobId)).replay) === 'hello ', 'B replays the first output');
    const onB = await watch(b.runs, jobId);
    expect(onB.replay.map((m) => m.type)).toEqual(['queued', 'event', 'event']);
    run.push({ type: 'stdout', data: 'world' });
    run.exit('ok');
    const all = await onB.ended;
    expect(stdoutOf(all)).toBe('hello world');
    // The gateway and then the host both say "position 0": subscribers hear it once.
    expect((await fromTheStart.ended).filter((m) => m.type === 'queued')).toEqual([{ type: 'queued', position: 0 }]);
    expect(all.at(-1)).toMatchObject({ type: 'end', status: 'ok', code: 0 });
    // Events are numbered once, in Redis, whoever reads them.
    expect(all.flatMap((m) => (m.type === 'event' ? [m.seq] : []))).toEqual([0, 1, 2, 3]);
    // A late joiner on either gateway gets the whole run, ending with `end`.
    const late = await watch(b.runs, jobId);
    expect(late.replay).toEqual(all);
    expect((await watch(a.runs, jobId)).replay).toEqual(all);
    // The gateway that submitted it followed it to its end (quotas, room record).
    await eventually(() => a.ended.length === 1, 'A saw the run end');
    expect(a.ended[0]).toMatchObject({ jobId, status: 'ok', cpuMs: 5 });
    expect(await b.runs.info(jobId)).toMatchObject({ state: 'finished', sessionId: 'r1', end: { status: 'ok' } });
  });

  it('stdin typed through B reaches a run submitted through A, in order, before and after it starts', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const b = f.gateway();
    const h = await f.host();
    const { jobId } = await a.runs.submit(runInput('input()'));
    await b.runs.sendStdin({ jobId, data: 'one\n' });
    const run = await h.runner.nth(0);
    run.start();
    await b.runs.sendStdin({ jobId, data: 'two\n' });
    await a.runs.sendStdin({ jobId, data: 'three\n', eof: true });
    await eventually(() => run.stdin.length === 3, 'three chunks arrived');
    expect(run.stdin).toEqual([
      { data: 'one\n', eof: false },
      { data: 'two\n', eof: false },
      { data: 'three\n', eof: true },
    ]);
    await expect(b.runs.sendStdin({ jobId, data: 'more' })).rejects.toMatchObject({ code: 'stdin_closed' });
    run.exit('ok');
    await eventually(async () => (await b.runs.info(jobId))?.state === 'finished', 'the run finished');
    await expect(b.runs.sendStdin({ jobId, data: 'late' })).rejects.toMatchObject({ code: 'run_finished' });
    await expect(b.runs.sendStdin({ jobId: 'nope', data: 'x' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('stop through B: a waiting run leaves the line, a running one is killed on its host', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const b = f.gateway();
    const h = await f.host({ capacity: 1 });
    const first = await a.runs.submit(runInput('busy'));
    const second = await a.runs.submit(runInput('waits'));
    expect(second.position).toBe(1);
    const run = await h.runner.nth(0);
    run.start();
    await b.runs.stop({ jobId: second.jobId });
    expect((await watch(b.runs, second.jobId)).replay.at(-1)).toMatchObject({ type: 'end', status: 'killed', message: 'stopped before it started' });
    await b.runs.stop({ jobId: first.jobId });
    const ended = await (await watch(b.runs, first.jobId)).ended;
    expect(ended.at(-1)).toMatchObject({ type: 'end', status: 'killed' });
    expect(run.kills).toBe(1);
    // The stopped waiting run never reached the host.
    await new Promise((r) => setTimeout(r, 200));
    expect(h.runner.runs).toHaveLength(1);
  });

  it("a room's second run lands on the host that holds its VM, other rooms go where there is room", async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const b = f.gateway();
    const h1 = await f.host({ capacity: 4, auto: { delayMs: 10 }, hostId: 'h1' });
    const h2 = await f.host({ capacity: 4, auto: { delayMs: 10 }, hostId: 'h2' });
    const first = await a.runs.submit(runInput('1', { roomId: 'room' }));
    await (await watch(a.runs, first.jobId)).ended;
    const holder = h1.runner.runs.length === 1 ? h1 : h2;
    const other = holder === h1 ? h2 : h1;
    // Through the other gateway, with the other host idle: still the room's host.
    const second = await b.runs.submit(runInput('2', { roomId: 'room' }));
    await (await watch(b.runs, second.jobId)).ended;
    expect(holder.runner.runs.map((r) => r.request.sessionId)).toEqual(['room', 'room']);
    expect(other.runner.runs).toHaveLength(0);
  });

  it('a host that dies mid-run: the run ends with sandbox_unavailable, the room runs again on another host, waiting runs move', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const b = f.gateway();
    const h1 = await f.host({ capacity: 1, hostId: 'h1' });
    const inFlight = await a.runs.submit(runInput('long', { roomId: 'room' }));
    const waiting = await a.runs.submit(runInput('next', { roomId: 'room' }));
    const run = await h1.runner.nth(0);
    run.start();
    run.push({ type: 'stdout', data: 'partial' });
    const h2 = await f.host({ capacity: 2, auto: { delayMs: 10 }, hostId: 'h2' });
    const watching = await watch(b.runs, inFlight.jobId);
    // What a host printed before it died is in the stream only once it got there (a dead host sends nothing more).
    await eventually(() => stdoutOf([...watching.replay, ...watching.live]) === 'partial', 'the partial output in the stream');
    await h1.host.halt();
    const ended = await watching.ended;
    expect(stdoutOf(ended)).toBe('partial');
    expect(ended.at(-1)).toMatchObject({ type: 'end', status: 'sandbox_unavailable', message: expect.stringMatching(/host h1 stopped while this run was in flight/) });
    expect(ended.at(-2)).toMatchObject({ type: 'event', event: { type: 'error', code: 'sandbox_unavailable' } });
    // The run that waited on the dead host moved and ran.
    expect((await (await watch(b.runs, waiting.jobId)).ended).at(-1)).toMatchObject({ status: 'ok' });
    // And the room's next run goes to the live host; its files come with the request.
    const again = await b.runs.submit(runInput('again', { roomId: 'room' }));
    const last = await (await watch(a.runs, again.jobId)).ended;
    expect(last.at(-1)).toMatchObject({ status: 'ok' });
    expect(stdoutOf(last)).toBe('again');
    expect(h2.runner.runs.map((r) => r.request.source)).toEqual(['next', 'again']);
    // The dead host is gone from the directory.
    await eventually(async () => (await a.fleet.hosts.hosts(true)).dead.length === 0, 'h1 swept');
    expect((await a.fleet.peers()).hosts.map((h) => h.hostId)).toEqual(['h2']);
  }, 30_000);

  it('MAX_QUEUED_RUNS counts the runs waiting on every host, whichever gateway queued them', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway({ maxQueued: 2 });
    const b = f.gateway({ maxQueued: 2 });
    const h = await f.host({ capacity: 1 });
    await a.runs.submit(runInput('runs'));
    await h.runner.nth(0);
    expect((await a.runs.submit(runInput('w1'))).position).toBe(1);
    expect((await b.runs.submit(runInput('w2'))).position).toBe(2);
    await expect(b.runs.submit(runInput('w3'))).rejects.toMatchObject({ code: 'capacity_exceeded', message: expect.stringMatching(/MAX_QUEUED_RUNS=2/) });
    await expect(a.runs.submit(runInput('w3'))).rejects.toMatchObject({ code: 'capacity_exceeded' });
    expect(await a.fleet.runs.queue.depth()).toBe(2);
  });

  it('with no sandbox host at all, runCode says so', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    await expect(a.runs.submit(runInput('x'))).rejects.toMatchObject({ code: 'sandbox_unavailable', message: expect.stringMatching(/no sandbox host is registered/) });
  });
});

describe('issue 14: runs of issues 10-12 through the fleet', () => {
  it('a C run keeps its language, compile limits and stage events; the files it wrote go to the submitting gateway only, emptied on every stream', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const b = f.gateway();
    const h = await f.host();
    const input = runCodeInputSchema.parse({ roomId: 'rc', entry: 'main.c', files: [{ path: 'main.c', content: 'int main(){}' }], limits: { compileTimeoutMs: 9000 } });
    const { jobId } = await a.runs.submit(input);
    const run = await h.runner.nth(0);
    expect(run.request).toMatchObject({ language: 'c', source: 'int main(){}', prune: true, limits: { compileTimeoutMs: 9000 } });
    run.start();
    run.push({ type: 'stage', name: 'compile' }, { type: 'diagnostics', diagnostics: [{ file: 'main.c', line: 1, column: 5, severity: 'warning', message: 'unused', code: null }] }, { type: 'stage', name: 'run' });
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]).toString('base64');
    run.push({ type: 'file', path: 'out/plot.png', size: 8, encoding: 'base64', content: png, truncated: false });
    run.push({ type: 'file', path: 'notes.txt', size: 3, encoding: 'utf8', content: 'hi\n', truncated: false });
    run.exit('ok');
    const all = await (await watch(b.runs, jobId)).ended;
    expect(all.flatMap((m) => (m.type === 'event' && (m.event.type === 'stage' || m.event.type === 'diagnostics') ? [m.event.type] : []))).toEqual(['stage', 'diagnostics', 'stage']);
    const files = all.flatMap((m) => (m.type === 'event' && m.event.type === 'file' ? [m.event] : []));
    expect(files.map((e) => [e.path, e.content])).toEqual([
      ['out/plot.png', ''],
      ['notes.txt', ''],
    ]);
    await eventually(() => a.files.length === 2, 'A put both files into the room');
    expect(a.files.map((x) => [x.roomId, x.jobId, x.file.path, x.file.content])).toEqual([
      ['rc', jobId, 'out/plot.png', png],
      ['rc', jobId, 'notes.txt', 'hi\n'],
    ]);
    expect(b.files).toEqual([]);
    // Taken once: nothing of the content stays in Redis.
    const f2 = await a.fleet.redis.hlen(a.fleet.keys.runFiles(jobId));
    expect(f2).toBe(0);
  });

  it('a TTY run is resized through another gateway, before and after it starts; a pipe run and a finished one refuse', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const b = f.gateway();
    const h = await f.host({ capacity: 2 });
    const tty = await a.runs.submit(runInput('import curses', { tty: { cols: 80, rows: 24 } }));
    await b.runs.resize(tty.jobId, { cols: 100, rows: 30 });
    const run = await h.runner.nth(0);
    run.start();
    await b.runs.resize(tty.jobId, { cols: 120, rows: 40 });
    await eventually(() => run.resizes.length === 2, 'both resizes reached the host');
    expect(run.resizes).toEqual([
      { cols: 100, rows: 30 },
      { cols: 120, rows: 40 },
    ]);
    const pipe = await a.runs.submit(runInput('print(1)'));
    await expect(b.runs.resize(pipe.jobId, { cols: 90, rows: 20 })).rejects.toMatchObject({ code: 'not_a_terminal' });
    run.exit('ok');
    await eventually(async () => (await b.runs.info(tty.jobId))?.state === 'finished', 'the TTY run finished');
    await expect(b.runs.resize(tty.jobId, { cols: 90, rows: 20 })).rejects.toMatchObject({ code: 'run_finished' });
    await expect(b.runs.resize('nope', { cols: 90, rows: 20 })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('lists the runtimes every host has', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const catalog = new RuntimeCatalog({ sandbox: { runtimes: () => a.fleet.hosts.runtimes() }, logger: silentLogger });
    expect((await catalog.list()).filter((r) => r.available)).toEqual([]);
    await f.host({ runtimes: { py: '3.11.2', c: '12.2.0', go: '1.19.8' } });
    await f.host({ runtimes: { py: '3.11.2', c: '12.2.0' } });
    await eventually(async () => (await a.fleet.hosts.hosts(true)).live.length === 2, 'both hosts registered');
    const listed = await new RuntimeCatalog({ sandbox: { runtimes: () => a.fleet.hosts.runtimes() }, logger: silentLogger }).list();
    expect(listed.filter((r) => r.available).map((r) => [r.language, r.version])).toEqual([
      ['py', '3.11.2'],
      ['c', '12.2.0'],
    ]);
  });
});
