import { describe, expect, it } from 'vitest';
import { CodeCellError, runCodeInputSchema, streamMessageSchema } from '@codecell/protocol';
import type { RunCodeInput, StreamMessage } from '@codecell/protocol';
import { silentLogger } from '@codecell/server-kit';
import { FakeSandbox } from '../test/FakeSandbox.js';
import type { FakeRun } from '../test/FakeSandbox.js';
import { LocalRuns } from './local/LocalRuns.js';
import type { LocalRunsOptions } from './local/LocalRuns.js';
import { RunManager } from './RunManager.js';
import type { RunManagerOptions } from './RunManager.js';
import type { RunUpdate } from './types.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

type SetupOptions = Partial<Omit<RunManagerOptions, 'backend'>> & Omit<LocalRunsOptions, 'sandbox' | 'logger'>;

function setup(opts: SetupOptions = {}): { sandbox: FakeSandbox; runs: RunManager } {
  const sandbox = new FakeSandbox();
  const { onRunUpdate, onRunEnd, newJobId, maxima, ...local } = opts;
  const backend = new LocalRuns({ sandbox, logger: silentLogger, slots: 1, ...local });
  const runs = new RunManager({
    backend,
    logger: silentLogger,
    defaults: { timeoutMs: 5000, memoryMb: 128, vcpus: 1 },
    ...(onRunUpdate ? { onRunUpdate } : {}),
    ...(onRunEnd ? { onRunEnd } : {}),
    ...(newJobId ? { newJobId } : {}),
    ...(maxima ? { maxima } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  return { sandbox, runs };
}

const input = (extra: Partial<RunCodeInput> = {}) =>
  runCodeInputSchema.parse({ files: [{ path: 'main.py', content: 'print(1)' }], ...extra });

/** Collects live messages, validating each against the protocol schema. */
async function collect(runs: RunManager, jobId: string): Promise<{ messages: StreamMessage[]; replay: StreamMessage[] }> {
  const messages: StreamMessage[] = [];
  const sub = await runs.subscribe(jobId, { send: (m) => messages.push(streamMessageSchema.parse(m)) });
  if (!sub) throw new Error(`no run ${jobId}`);
  return { messages, replay: sub.replay.map((m) => streamMessageSchema.parse(m)) };
}

async function nthRun(sandbox: FakeSandbox, n: number): Promise<FakeRun> {
  for (let i = 0; i < 50 && !sandbox.runs[n]; i++) await tick();
  const run = sandbox.runs[n];
  if (!run) throw new Error(`run ${n} never reached the sandbox`);
  return run;
}

describe('RunManager', () => {
  it('runs one run per room at a time, so a busy room does not take every slot', async () => {
    const { sandbox, runs } = setup({ slots: 2 });
    await runs.submit(input({ roomId: 'busy' }));
    await runs.submit(input({ roomId: 'busy' }));
    await runs.submit(input({ roomId: 'other' }));
    await nthRun(sandbox, 1);
    await tick();
    expect(sandbox.runs.map((r) => r.request.sessionId)).toEqual(['busy', 'other']);
    await runs.dispose();
  });

  it('builds the sandbox request: entry → source, others → files, explicit limits, room → session', async () => {
    const { sandbox, runs } = setup();
    await runs.submit(
      input({
        roomId: 'room1',
        entry: 'app.py',
        files: [
          { path: 'app.py', content: 'import util' },
          { path: 'util.py', content: 'x = 1' },
        ],
        limits: { timeoutMs: 2000 },
      }),
    );
    const run = await nthRun(sandbox, 0);
    expect(run.request).toEqual({
      language: 'py',
      source: 'import util',
      entry: 'app.py',
      files: [{ path: 'util.py', content: 'x = 1' }],
      stdinOpen: true,
      limits: { timeoutMs: 2000, memoryMb: 128, vcpus: 1 },
      sessionId: 'room1',
      prune: true,
    });
    await runs.dispose();
  });

  it('passes args, a closed stdin and compile limits on to the sandbox (issue 13: batch runs of the compatible APIs)', async () => {
    const { sandbox, runs } = setup();
    await runs.submit(input({ stdin: 'in\n', stdinOpen: false, args: ['1', 'two words'], limits: { compileTimeoutMs: 9000, compileMemoryMb: 256 } }));
    const run = await nthRun(sandbox, 0);
    expect(run.request).toMatchObject({
      stdin: 'in\n',
      stdinOpen: false,
      args: ['1', 'two words'],
      limits: { timeoutMs: 5000, memoryMb: 128, vcpus: 1, compileTimeoutMs: 9000, compileMemoryMb: 256 },
    });
    await runs.dispose();
  });

  it('rejects an entry that is not among the files', async () => {
    const { runs } = setup();
    await expect(runs.submit(input({ entry: 'other.py' }))).rejects.toThrow(/entry "other.py" is not one of the files/);
  });

  it('queues beyond the concurrency limit, reports positions and moves the queue in FIFO order', async () => {
    const { sandbox, runs } = setup({ slots: 1, maxQueued: 2 });
    const a = await runs.submit(input());
    const b = await runs.submit(input());
    const c = await runs.submit(input());
    expect([a.position, b.position, c.position]).toEqual([0, 1, 2]);
    await expect(runs.submit(input())).rejects.toThrow(expect.objectContaining({ code: 'capacity_exceeded' }) as CodeCellError);
    const cLive = await collect(runs, c.jobId);
    expect(cLive.replay).toEqual([{ type: 'queued', position: 2 }]);

    (await nthRun(sandbox, 0)).exit();
    const second = await nthRun(sandbox, 1);
    expect(cLive.messages).toEqual([{ type: 'queued', position: 1 }]);
    expect(runs.get(b.jobId)?.state).toBe('running');
    second.exit();
    await nthRun(sandbox, 2);
    expect(cLive.messages.at(-1)).toEqual({ type: 'queued', position: 0 });
    await runs.dispose();
  });

  it('relays events in order with seq, ends with end, and replays everything to late subscribers', async () => {
    const { sandbox, runs } = setup();
    const { jobId } = await runs.submit(input({ startedBy: 'ada' }));
    const early = await collect(runs, jobId);
    const run = await nthRun(sandbox, 0);
    run.start();
    run.push({ type: 'stdout', data: 'a\n' }, { type: 'stderr', data: 'b\n' });
    run.exit('runtime_error', 1);
    await tick();
    const types = early.messages.map((m) => (m.type === 'event' ? m.event.type : m.type));
    expect(types).toEqual(['start', 'stdout', 'stderr', 'exit', 'end']);
    expect(early.messages.flatMap((m) => (m.type === 'event' ? [m.seq] : []))).toEqual([0, 1, 2, 3]);
    expect(early.messages.at(-1)).toEqual({ type: 'end', status: 'runtime_error', code: 1, message: null });

    const sub = await runs.subscribe(jobId, { send: () => expect.fail('a finished run sends nothing live') });
    expect(sub?.hello).toMatchObject({ type: 'hello', jobId, startedBy: 'ada', truncated: false });
    expect(sub?.replay).toEqual([...early.replay, ...early.messages]);
  });

  it('drops the oldest output beyond the replay budget and marks the replay truncated', async () => {
    const { sandbox, runs } = setup({ replayBytes: 1000 });
    const { jobId } = await runs.submit(input());
    const run = await nthRun(sandbox, 0);
    run.start();
    for (let i = 0; i < 10; i++) run.push({ type: 'stdout', data: `${i}`.repeat(300) });
    run.exit();
    await tick();
    const sub = await runs.subscribe(jobId, { send: () => undefined });
    expect(sub?.hello.truncated).toBe(true);
    const out = sub?.replay.flatMap((m) => (m.type === 'event' && m.event.type === 'stdout' ? [m.event.data] : [])) ?? [];
    // The newest 1000 bytes: the tail of chunk 6, then chunks 7-9 whole.
    expect(out.join('')).toBe(`${'6'.repeat(100)}${'7'.repeat(300)}${'8'.repeat(300)}${'9'.repeat(300)}`);
    // Control messages survive trimming.
    expect(sub?.replay.map((m) => (m.type === 'event' ? m.event.type : m.type))).toEqual(['queued', 'start', 'stdout', 'stdout', 'stdout', 'stdout', 'exit', 'end']);
  });

  it('buffers stdin until the sandbox run exists, then forwards it in order', async () => {
    const { sandbox, runs } = setup({ slots: 1 });
    const first = await runs.submit(input());
    const { jobId } = await runs.submit(input());
    await runs.sendStdin({ jobId, data: 'one\n' });
    await runs.sendStdin({ jobId, data: 'two\n', eof: true });
    await expect(runs.sendStdin({ jobId, data: 'x' })).rejects.toMatchObject({ code: 'stdin_closed' });
    (await nthRun(sandbox, 0)).exit();
    const second = await nthRun(sandbox, 1);
    await tick();
    expect(second.stdin).toEqual([{ data: 'one\n' }, { data: 'two\n', eof: true }]);
    second.exit();
    await tick();
    await expect(runs.sendStdin({ jobId: first.jobId, data: 'late' })).rejects.toMatchObject({ code: 'run_finished' });
    await expect(runs.sendStdin({ jobId: 'nope', data: 'x' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('stop while queued removes the run and moves the others up', async () => {
    const { sandbox, runs } = setup({ slots: 1 });
    await runs.submit(input());
    const b = await runs.submit(input());
    const c = await runs.submit(input());
    const bLive = await collect(runs, b.jobId);
    const cLive = await collect(runs, c.jobId);
    await runs.stop({ jobId: b.jobId });
    expect(bLive.messages).toEqual([{ type: 'end', status: 'killed', code: null, message: 'stopped before it started' }]);
    expect(cLive.messages).toEqual([{ type: 'queued', position: 1 }]);
    (await nthRun(sandbox, 0)).exit();
    const next = await nthRun(sandbox, 1);
    expect(runs.get(c.jobId)?.sandboxJobId).toBe(next.jobId);
    expect(sandbox.runs).toHaveLength(2);
    await runs.dispose();
  });

  it('stop while running asks the sandbox to kill, and the run ends killed', async () => {
    const { sandbox, runs } = setup();
    const { jobId } = await runs.submit(input());
    const live = await collect(runs, jobId);
    const run = await nthRun(sandbox, 0);
    run.start();
    await tick();
    await runs.stop({ jobId });
    await tick();
    expect(run.kills).toBe(1);
    expect(live.messages.at(-1)).toEqual({ type: 'end', status: 'killed', code: null, message: null });
    await runs.stop({ jobId }); // stopping a finished run is a no-op
    expect(run.kills).toBe(1);
  });

  it('ends with sandbox_unavailable when the sandbox is down, and works again when it is back', async () => {
    const { sandbox, runs } = setup();
    sandbox.nextRunError = new CodeCellError('sandbox_unavailable', 'the sandbox at x is not reachable: ECONNREFUSED');
    const down = await runs.submit(input());
    const live = await collect(runs, down.jobId);
    await tick();
    // It may have failed before the subscription: replay and live together hold it once.
    expect([...live.replay, ...live.messages].filter((m) => m.type !== 'queued')).toEqual([
      { type: 'event', seq: 0, event: { type: 'error', code: 'sandbox_unavailable', message: 'the sandbox at x is not reachable: ECONNREFUSED' } },
      { type: 'end', status: 'sandbox_unavailable', code: null, message: 'the sandbox at x is not reachable: ECONNREFUSED' },
    ]);
    const up = await runs.submit(input());
    const run = await nthRun(sandbox, 0);
    run.exit();
    await tick();
    expect(runs.get(up.jobId)?.end?.status).toBe('ok');
  });

  it('ends with sandbox_unavailable when the sandbox dies mid-run, and frees the slot', async () => {
    const { sandbox, runs } = setup({ slots: 1 });
    const { jobId } = await runs.submit(input());
    const waiting = await runs.submit(input());
    const live = await collect(runs, jobId);
    const run = await nthRun(sandbox, 0);
    run.start();
    run.push({ type: 'stdout', data: 'partial' });
    run.fail(new CodeCellError('sandbox_unavailable', 'the sandbox at x is not reachable: the connection broke'));
    await tick();
    expect(live.messages.slice(-2)).toEqual([
      { type: 'event', seq: 2, event: { type: 'error', code: 'sandbox_unavailable', message: 'the sandbox at x is not reachable: the connection broke' } },
      { type: 'end', status: 'sandbox_unavailable', code: null, message: 'the sandbox at x is not reachable: the connection broke' },
    ]);
    await nthRun(sandbox, 1);
    expect(runs.get(waiting.jobId)?.state).toBe('running');
    await runs.dispose();
  });

  it('a stream that ends after start without exit counts as the sandbox going away', async () => {
    const { sandbox, runs } = setup();
    const { jobId } = await runs.submit(input());
    const run = await nthRun(sandbox, 0);
    run.start();
    run.end();
    await tick();
    expect(runs.get(jobId)?.end?.status).toBe('sandbox_unavailable');
  });

  it('a failure before start (single error event) ends with that error', async () => {
    const { sandbox, runs } = setup();
    const { jobId } = await runs.submit(input());
    const run = await nthRun(sandbox, 0);
    run.push({ type: 'error', code: 'vm_boot_failed', message: 'no VM' });
    run.end();
    await tick();
    expect(runs.get(jobId)?.end).toEqual({ status: 'vm_boot_failed', code: null, message: 'no VM' });
  });

  it('stop while starting kills as soon as the sandbox job id is known', async () => {
    const { sandbox, runs } = setup();
    let release: () => void = () => undefined;
    sandbox.gate = new Promise((r) => (release = r));
    const { jobId } = await runs.submit(input());
    // The fake's run() waits for the gate: the run is in 'starting' now.
    expect(runs.get(jobId)?.state).toBe('starting');
    await runs.stop({ jobId });
    release();
    const run = await nthRun(sandbox, 0);
    await tick();
    expect(run.kills).toBe(1);
    expect(runs.get(jobId)?.end?.status).toBe('killed');
  });

  it('forgets finished runs after the retention period', async () => {
    const { sandbox, runs } = setup({ retentionMs: 30 });
    const { jobId } = await runs.submit(input());
    (await nthRun(sandbox, 0)).exit();
    await tick();
    expect(runs.get(jobId)).toBeDefined();
    await new Promise((r) => setTimeout(r, 60));
    expect(runs.get(jobId)).toBeUndefined();
    expect(await runs.subscribe(jobId, { send: () => undefined })).toBeUndefined();
  });

  it('reports runs of rooms to onRunUpdate: queued, running, then how they ended', async () => {
    const updates: RunUpdate[] = [];
    let clock = 100;
    const { sandbox, runs } = setup({ slots: 1, onRunUpdate: (u) => updates.push(u), now: () => clock++ });
    await runs.submit(input()); // no room: not reported
    const { jobId } = await runs.submit(input({ roomId: 'r1', startedBy: 'ada' }));
    const queued = await runs.submit(input({ roomId: 'r1' }));
    await runs.stop({ jobId: queued.jobId });
    (await nthRun(sandbox, 0)).exit();
    const run = await nthRun(sandbox, 1);
    run.start();
    run.exit('runtime_error', 2);
    await tick();
    const mine = updates.filter((u) => u.record.jobId === jobId);
    expect(mine.map((u) => [u.roomId, u.record.status])).toEqual([
      ['r1', 'queued'],
      ['r1', 'running'],
      ['r1', 'runtime_error'],
    ]);
    expect(mine.at(-1)?.record).toEqual({ jobId, startedBy: 'ada', startedAt: 101, status: 'runtime_error', endedAt: expect.any(Number) as number, wallMs: 2, exitCode: 2 });
    expect(updates.filter((u) => u.record.jobId === queued.jobId).map((u) => u.record.status)).toEqual(['queued', 'killed']);
    expect(updates.every((u) => u.roomId === 'r1')).toBe(true);
  });

  it('a throwing onRunUpdate does not disturb the run', async () => {
    const { sandbox, runs } = setup({
      onRunUpdate: () => {
        throw new Error('boom');
      },
    });
    const { jobId } = await runs.submit(input({ roomId: 'r1' }));
    (await nthRun(sandbox, 0)).exit();
    await tick();
    expect(runs.get(jobId)?.end?.status).toBe('ok');
  });

  it('dispose ends queued runs and aborts running ones', async () => {
    const { sandbox, runs } = setup({ slots: 1 });
    const a = await runs.submit(input());
    const b = await runs.submit(input());
    const run = await nthRun(sandbox, 0);
    run.start();
    const aRun = runs.get(a.jobId);
    const bRun = runs.get(b.jobId);
    await runs.dispose();
    expect(run.signal?.aborted).toBe(true);
    expect(aRun?.state).toBe('finished');
    expect(bRun?.end?.message).toBe('the gateway is shutting down');
    await expect(runs.submit(input())).rejects.toThrow(/shutting down/);
  });
});
