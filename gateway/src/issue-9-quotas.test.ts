/**
 * Issue 9: per-user quotas, each refused with `quota_exceeded`, the quota's
 * name, limit and reset time (in the message and in `data.quota`), while other
 * people are unaffected: runs per minute, concurrent runs, CPU-seconds per
 * day, rooms owned, storage; guests are counted per address.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import { ROOM_DOC, parseCollabReason } from '@codecell/protocol';
import type { QuotaDetails } from '@codecell/protocol';
import { TRPCClientError } from '@trpc/client';
import { waitUntil } from './test/collabClients.js';
import { startNdjson, writeEvent } from './test/fakeSandboxServer.js';
import type { FakeHandler } from './test/fakeSandboxServer.js';
import { createAdmin, signUp, startHosted } from './test/hosted.js';
import type { Hosted } from './test/hosted.js';
import { runningSandbox } from './test/roleActions.js';
import { outcome, testUser } from './test/sessions.js';
import { openPage } from './test/pageClient.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const START = Date.parse('2030-01-01T12:00:10Z');
let clock = START;

async function hosted(env: Record<string, string>, handler?: FakeHandler): Promise<Hosted> {
  clock = START;
  const h = await startHosted({ env: { QUOTA_CONCURRENT_RUNS: '0', QUOTA_RUNS_PER_MINUTE: '0', ...env }, overrides: { now: () => clock }, ...(handler ? { handler } : {}) });
  cleanups.push(() => h.close());
  return h;
}

const files = [{ path: 'main.py', content: 'print(1)' }];
const quotaOf = (err: unknown): QuotaDetails | undefined => (err instanceof TRPCClientError ? (err.data as { quota?: QuotaDetails } | undefined)?.quota : undefined);

/** Runs that exit at once, each reporting `cpuMs` of CPU time. */
const exiting = (cpuMs: number): FakeHandler => (req, res) => {
  if (req.path !== '/run') return void res.writeHead(202).end('{}');
  startNdjson(res, 'sbx');
  writeEvent(res, { type: 'start', jobId: 'sbx', vmId: 'vm', at: 1 });
  writeEvent(res, { type: 'exit', code: 0, signal: null, status: 'ok', cpuMs, wallMs: cpuMs, maxRssKb: 1 });
  res.end();
};

describe('issue 9: quotas', () => {
  it('runs per minute: the user over it gets quota_exceeded with the reset time; others are unaffected; it resets on the minute', async () => {
    const { gw } = await hosted({ QUOTA_RUNS_PER_MINUTE: '3' }, exiting(1));
    const ada = await createAdmin(gw);
    const bob = await signUp(gw, ada, { username: 'bob' });
    for (let i = 0; i < 3; i++) await ada.trpc.runCode.mutate({ files });
    const err = await ada.trpc.runCode.mutate({ files }).catch((e: unknown) => e);
    expect(err).toMatchObject({ data: { codecellCode: 'quota_exceeded', httpStatus: 429 } });
    expect(quotaOf(err)).toEqual({ quota: 'runs_per_minute', limit: 3, used: 3, resetsAt: Date.parse('2030-01-01T12:01:00Z') });
    expect((err as Error).message).toBe(
      'quota runs_per_minute reached: you started 3 runs this minute (QUOTA_RUNS_PER_MINUTE=3); it resets at 2030-01-01T12:01:00.000Z (in 50 s)',
    );
    expect(await outcome(bob.trpc.runCode.mutate({ files }))).toBe('ok');
    expect((await ada.trpc.quotas.mine.query()).find((q) => q.quota === 'runs_per_minute')).toEqual({ quota: 'runs_per_minute', limit: 3, used: 3, resetsAt: Date.parse('2030-01-01T12:01:00Z') });
    clock = Date.parse('2030-01-01T12:01:00Z');
    expect(await outcome(ada.trpc.runCode.mutate({ files }))).toBe('ok');
  });

  it('concurrent runs: counted until a run ends (or is stopped)', async () => {
    const { gw } = await hosted({ QUOTA_CONCURRENT_RUNS: '1' }, runningSandbox());
    const ada = await createAdmin(gw);
    const { jobId } = await ada.trpc.runCode.mutate({ files });
    const err = await ada.trpc.runCode.mutate({ files }).catch((e: unknown) => e);
    expect(quotaOf(err)).toEqual({ quota: 'concurrent_runs', limit: 1, used: 1, resetsAt: null });
    expect((err as Error).message).toMatch(/QUOTA_CONCURRENT_RUNS=1\); it frees up as soon as you use less$/);
    await ada.trpc.stopRun.mutate({ jobId });
    await expect.poll(() => outcome(ada.trpc.runCode.mutate({ files }))).toBe('ok');
  });

  it('CPU-seconds per day: charged when runs end, refused until the next UTC day', async () => {
    const { gw } = await hosted({ QUOTA_CPU_SECONDS_PER_DAY: '2' }, exiting(1500));
    const ada = await createAdmin(gw);
    await ada.trpc.runCode.mutate({ files });
    await expect.poll(async () => (await ada.trpc.quotas.mine.query()).find((q) => q.quota === 'cpu_seconds_per_day')?.used).toBe(2);
    await ada.trpc.runCode.mutate({ files }).catch(() => undefined);
    await expect.poll(() => outcome(ada.trpc.runCode.mutate({ files }))).toBe('quota_exceeded');
    const err = await ada.trpc.runCode.mutate({ files }).catch((e: unknown) => e);
    expect(quotaOf(err)).toMatchObject({ quota: 'cpu_seconds_per_day', limit: 2, resetsAt: Date.parse('2030-01-02T00:00:00Z') });
    clock = Date.parse('2030-01-02T00:00:01Z');
    expect(await outcome(ada.trpc.runCode.mutate({ files }))).toBe('ok');
  });

  it("CPU-seconds per day count a room's shell (its opener's), and a spent quota refuses a new shell", async () => {
    // The shell exits at once; its exit's cpuMs is its whole cgroup's (bash and all it started).
    const shellThenRuns: FakeHandler = (req, res) => {
      if (req.path !== '/terminal') return exiting(1)(req, res);
      startNdjson(res, 'sh');
      writeEvent(res, { type: 'start', jobId: 'sh', vmId: 'vm', at: 1 });
      writeEvent(res, { type: 'exit', code: 0, signal: null, status: 'ok', cpuMs: 2500, wallMs: 9000, maxRssKb: 1 });
      res.end();
    };
    const { gw } = await hosted({ QUOTA_CPU_SECONDS_PER_DAY: '2' }, shellThenRuns);
    const ada = await createAdmin(gw);
    const { roomId } = await ada.trpc.createRoom.mutate({});
    const page = openPage(gw.url, { ...ada.headers(), Origin: gw.url });
    cleanups.push(() => page.ws.close());
    page.send({ type: 'terminal', ref: 't1', roomId, program: 'bash', size: { cols: 80, rows: 24 } });
    const accepted = await page.waitFor((m) => m.type === 'accepted' && m.ref === 't1');
    const jobId = accepted.type === 'accepted' ? accepted.jobId : '';
    await page.waitFor((m) => m.type === 'job' && m.jobId === jobId && m.message.type === 'end');
    // A shell takes no run slot, but its CPU time is charged like a run's.
    await expect.poll(async () => (await ada.trpc.quotas.mine.query()).find((q) => q.quota === 'cpu_seconds_per_day')?.used).toBe(3);
    expect(quotaOf(await ada.trpc.runCode.mutate({ files }).catch((e: unknown) => e))).toMatchObject({ quota: 'cpu_seconds_per_day', limit: 2 });
    page.send({ type: 'terminal', ref: 't2', roomId, program: 'bash', size: { cols: 80, rows: 24 } });
    const refused = await page.waitFor((m) => m.type === 'refused' && m.ref === 't2');
    expect(refused).toMatchObject({ code: 'quota_exceeded', message: expect.stringContaining('QUOTA_CPU_SECONDS_PER_DAY=2') });
  });

  it('rooms owned and storage: a new room is refused past either; a room that would grow past storage refuses the update', async () => {
    const { gw } = await hosted({ QUOTA_ROOMS: '2', QUOTA_STORAGE_MB: '1' });
    const ada = await createAdmin(gw);
    const { roomId } = await ada.trpc.createRoom.mutate({});
    await ada.trpc.createRoom.mutate({});
    const err = await ada.trpc.createRoom.mutate({}).catch((e: unknown) => e);
    expect(quotaOf(err)).toEqual({ quota: 'rooms', limit: 2, used: 2, resetsAt: null });
    await ada.trpc.rooms.delete.mutate({ roomId });

    const { roomId: big } = await ada.trpc.createRoom.mutate({});
    const client = ada.join(big);
    cleanups.push(() => client.destroy());
    await client.synced();
    const text = client.doc.getMap<Y.Text>(ROOM_DOC.files).get('main.py');
    for (let i = 0; i < 6 && client.closes.length === 0; i++) {
      text?.insert(0, 'x'.repeat(256 * 1024));
      await waitUntil(() => client.provider.unsyncedChanges === 0 || client.closes.length > 0, { timeoutMs: 10_000 });
    }
    expect(client.closes.map((r) => parseCollabReason(r)?.code)).toEqual(['quota_exceeded']);
    expect(client.closes[0]).toMatch(/quota storage_bytes reached: .*QUOTA_STORAGE_MB=1/);
    // The room holds what fitted, as quotas.mine shows.
    const storage = (await ada.trpc.quotas.mine.query()).find((q) => q.quota === 'storage_bytes');
    expect(storage).toMatchObject({ limit: 1024 * 1024, resetsAt: null });
    expect(storage?.used).toBeGreaterThan(512 * 1024);
    expect(storage?.used).toBeLessThanOrEqual(1024 * 1024);
  });

  it('guests are counted per address: two guests from one machine share the quota', async () => {
    const { gw } = await hosted({ QUOTA_RUNS_PER_MINUTE: '2' }, exiting(1));
    const ada = await createAdmin(gw);
    const { roomId } = await ada.trpc.createRoom.mutate({});
    const { token } = await ada.trpc.rooms.createLink.mutate({ roomId, role: 'runner', allowGuests: true });
    const [g1, g2] = [testUser(gw.url), testUser(gw.url)];
    await g1.trpc.rooms.redeemLink.mutate({ token, displayName: 'Guest one' });
    await g2.trpc.rooms.redeemLink.mutate({ token, displayName: 'Guest two' });
    await g1.trpc.runCode.mutate({ roomId, files });
    await g2.trpc.runCode.mutate({ roomId, files });
    expect(await outcome(g1.trpc.runCode.mutate({ roomId, files }))).toBe('quota_exceeded');
    // The owner, an account, has a quota of their own.
    expect(await outcome(ada.trpc.runCode.mutate({ roomId, files }))).toBe('ok');
  });
});
