/**
 * Issue 14, operations of a fleet on a real Redis (fake VMs): a host drains
 * (finishes its runs, hands its waiting runs to others), restarting Redis
 * mid-load loses no accepted run (BullMQ's persistence, append-only file;
 * a job whose fetch reply was lost is taken again),
 * and QUOTA_CONCURRENT_RUNS holds across gateways.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { fleetKeys } from '@codecell/protocol';
import { silentLogger } from '@codecell/server-kit';
import { startTestRedis } from '@codecell/server-kit/test';
import type { TestRedis } from '@codecell/server-kit/test';
import { anonymous } from '../auth/Caller.js';
import { SqliteGatewayStore } from '../store/SqliteGatewayStore.js';
import { openGatewayDatabase } from '../store/migrations.js';
import { QuotaExtension } from '../quotas/QuotaExtension.js';
import { FleetHarness, eventually, runInput, stdoutOf, watch } from '../test/fleetHarness.js';
import { ACTIVE_TOKEN_TTL_MS } from './RedisActiveRuns.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('issue 14: fleet operations', () => {
  it('a draining host takes no new runs, finishes the one in flight, and its waiting run moves to another host', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const h1 = await f.host({ capacity: 1, hostId: 'h1' });
    const inFlight = await a.runs.submit(runInput('in flight'));
    const run = await h1.runner.nth(0);
    run.start();
    const waiting = await a.runs.submit(runInput('waiting'));
    expect(waiting.position).toBe(1);
    const h2 = await f.host({ capacity: 1, auto: { delayMs: 10 }, hostId: 'h2' });
    // What the host's own /healthz says of it.
    expect(h1.host.health()).toMatchObject({ hostId: 'h1', redis: { ok: true, status: 'ready' }, runs: 1, draining: false, lastHeartbeatAt: expect.any(Number) as number });
    const drained = h1.host.drain(10_000);
    expect(h1.host.health().draining).toBe(true);
    await eventually(async () => (await a.fleet.peers()).hosts.find((h) => h.hostId === 'h1')?.draining === true, 'h1 reports draining');
    // The waiting run moves (any gateway's sweep does it) and runs on h2.
    expect((await (await watch(a.runs, waiting.jobId)).ended).at(-1)).toMatchObject({ status: 'ok' });
    expect(h2.runner.runs.map((r) => r.request.source)).toEqual(['waiting']);
    // New runs go to h2 only.
    const fresh = await a.runs.submit(runInput('fresh'));
    expect((await (await watch(a.runs, fresh.jobId)).ended).at(-1)).toMatchObject({ status: 'ok' });
    expect(h1.runner.runs).toHaveLength(1);
    // The run in flight finishes normally, then the drain ends.
    let done = false;
    void drained.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(done).toBe(false);
    run.push({ type: 'stdout', data: 'finished' });
    run.exit('ok');
    expect(await drained).toBe(true);
    const ended = await (await watch(a.runs, inFlight.jobId)).ended;
    expect(ended.at(-1)).toMatchObject({ status: 'ok' });
    expect(stdoutOf(ended)).toBe('finished');
    await h1.host.dispose();
    await a.fleet.runs.sweep();
    await eventually(async () => (await a.fleet.peers()).hosts.map((h) => h.hostId).join() === 'h2', 'h1 left the fleet');
  }, 30_000);

  it('restarting Redis mid-load loses no accepted run: every one finishes with its output', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const b = f.gateway();
    await f.host({ capacity: 1, auto: { delayMs: 30 } });
    await f.host({ capacity: 1, auto: { delayMs: 30 } });
    const accepted: Array<{ jobId: string; source: string }> = [];
    const submitSome = async (from: number, n: number): Promise<void> => {
      for (let i = from; i < from + n; i++) {
        const gw = i % 2 === 0 ? a : b;
        const source = `run ${i}`;
        accepted.push({ jobId: (await gw.runs.submit(runInput(source, { roomId: `room${i % 3}` }))).jobId, source });
      }
    };
    await submitSome(0, 12);
    // Restart while runs wait and run; submissions during the outage wait for Redis instead of failing.
    const restarting = redis.restart({ downMs: 500 });
    await submitSome(12, 6);
    await restarting;
    await submitSome(18, 6);
    for (const { jobId, source } of accepted) {
      const w = await watch(b.runs, jobId);
      let timer: NodeJS.Timeout | undefined;
      const all = await Promise.race([
        w.ended,
        new Promise<never>((_, reject) => {
          // Cleared once the run ended: a timer left behind would ask the closed Redis connection later.
          timer = setTimeout(() => {
            void (async () => {
              const meta = await a.fleet.redis.hgetall(a.fleet.keys.runMeta(jobId));
              const log = await a.fleet.redis.xrange(a.fleet.keys.runLog(jobId), '-', '+');
              const states = await Promise.all(f.hosts.map(async (h) => [h.host.hostId, await a.fleet.runs.queue.queueOf(h.host.hostId).getJobState(jobId)]));
              reject(new Error(`${source} (${jobId}) did not end: meta ${JSON.stringify(meta)} log ${JSON.stringify(log)} bull ${JSON.stringify(states)} live ${JSON.stringify(w.live)} replay ${JSON.stringify(w.replay)}`));
            })().catch(reject);
          }, 20_000);
        }),
      ]).finally(() => clearTimeout(timer));
      expect(all.at(-1), source).toMatchObject({ type: 'end', status: 'ok' });
      expect(stdoutOf(all)).toBe(source);
    }
    expect(accepted).toHaveLength(24);
  }, 60_000);

  it('a run whose fetch reply Redis lost (taken, locked by nobody) is taken again and runs, once', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const h = await f.host({ capacity: 1, hostId: 'h1', lockMs: 600 });
    const busy = await a.runs.submit(runInput('busy'));
    const first = await h.runner.nth(0);
    const orphan = await a.runs.submit(runInput('orphan'));
    // What a restart can leave: the host's fetch ran in Redis, its reply was lost, ioredis sent the fetch
    // again and got the next job. The first job is active under a lock nobody renews.
    const keys = fleetKeys(f.prefix);
    const stray = new Worker(keys.hostQueue('h1'), null, { connection: a.fleet.redis, prefix: keys.bullPrefix, lockDuration: 300, autorun: false });
    const taken = await stray.getNextJob('lost-reply');
    expect(taken?.id).toBe(orphan.jobId);
    await stray.close(true);
    first.start();
    first.exit('ok');
    const second = await h.runner.nth(1, 15_000);
    expect(second.request.source).toBe('orphan');
    second.start();
    second.exit('ok');
    expect((await (await watch(a.runs, orphan.jobId)).ended).at(-1)).toMatchObject({ type: 'end', status: 'ok' });
    expect((await (await watch(a.runs, busy.jobId)).ended).at(-1)).toMatchObject({ status: 'ok' });
    // Taken again once its lock lapsed, it is not started a second time.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(h.runner.runs).toHaveLength(2);
  }, 30_000);

  it('a job whose lock lapsed while its host still executes it is not started again, and stays active for the sweep', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const h = await f.host({ capacity: 4, hostId: 'h1', lockMs: 600 });
    const long = await a.runs.submit(runInput('long'));
    const running = await h.runner.nth(0);
    running.start();
    const starting = await a.runs.submit(runInput('starting'));
    await h.runner.nth(1);
    // What Redis away for longer than the lock leaves: the host could not renew its jobs' locks.
    const keys = fleetKeys(f.prefix);
    const jobKey = (jobId: string) => `${keys.bullPrefix}:${keys.hostQueue('h1')}:${jobId}`;
    const redisClient = a.fleet.redis;
    await redisClient.del(`${jobKey(long.jobId)}:lock`, `${jobKey(starting.jobId)}:lock`);
    // The stalled check (every 300 ms here) puts both back in line; the host takes them again at once.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(h.runner.runs.map((r) => r.request.source)).toEqual(['long', 'starting']);
    const queue = new Queue(keys.hostQueue('h1'), { connection: redisClient, prefix: keys.bullPrefix });
    try {
      expect(await queue.getJobState(starting.jobId)).toBe('active');
      expect(await queue.getJobState(long.jobId)).toBe('active');
    } finally {
      await queue.close();
    }
    // So when the host dies, the sweep ends both runs instead of leaving them for good.
    const watching = await watch(a.runs, starting.jobId);
    await h.host.halt();
    expect((await watching.ended).at(-1)).toMatchObject({ type: 'end', status: 'sandbox_unavailable' });
    expect((await (await watch(a.runs, long.jobId)).ended).at(-1)).toMatchObject({ type: 'end', status: 'sandbox_unavailable' });
  }, 30_000);

  it('a host and a gateway still stop (drain, leave) while Redis is away', async () => {
    const own = await startTestRedis();
    const f = new FleetHarness(own.url);
    // Short bounds (the defaults are 2 s a step): what is tested is that every step is bounded.
    const gw = f.gateway({ redisStepMs: 200 });
    const h = await f.host({ capacity: 1, redisStepMs: 200 });
    await own.stop();
    const started = Date.now();
    // The worker cannot tell Redis it stops: the drain gives up after its timeout instead of hanging.
    await h.host.drain(300);
    await h.host.dispose();
    await gw.runs.dispose();
    await gw.fleet.dispose();
    // Every Redis step is bounded instead of waiting for Redis forever.
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 30_000);

  it('QUOTA_CONCURRENT_RUNS counts runs on every gateway; a dead gateway\'s count lapses', async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const b = f.gateway();
    const db = openGatewayDatabase(':memory:');
    let skew = 0;
    const quotas = (activeRuns: typeof a.fleet.activeRuns) =>
      new QuotaExtension({ store: new SqliteGatewayStore(db), logger: silentLogger, activeRuns, limits: { concurrentRuns: 1, runsPerMinute: 0, cpuSecondsPerDay: 0, rooms: 0, storageBytes: 0 } });
    const qa = quotas(a.fleet.activeRuns);
    const qb = quotas(b.fleet.activeRuns);
    const owner = { key: 'user:ada', userId: 'ada', displayName: 'Ada' };
    const payload = { caller: anonymous('127.0.0.1'), owner, roomId: null };
    await qa.beforeRun(payload);
    await expect(qb.beforeRun(payload)).rejects.toMatchObject({ code: 'quota_exceeded', details: { quota: 'concurrent_runs', limit: 1, used: 1 } });
    qa.afterRun({ owner, jobId: 'j', accepted: true, cpuMs: null });
    await eventually(async () => (await a.fleet.activeRuns.count(owner.key)) === 0, 'released');
    await qb.beforeRun(payload);
    // B dies holding the token (it never refreshes it again): after the lapse A may run.
    const { RedisActiveRuns } = await import('./RedisActiveRuns.js');
    const later = new RedisActiveRuns({ redis: a.fleet.redis, keys: a.fleet.keys, logger: silentLogger, now: () => Date.now() + skew });
    await expect(quotas(later).beforeRun(payload)).rejects.toMatchObject({ code: 'quota_exceeded' });
    skew = ACTIVE_TOKEN_TTL_MS + 1_000;
    await quotas(later).beforeRun(payload);
    later.dispose();
    db.close();
  });

  it("an adopted run's end releases none of the adopter's own concurrent-run tokens", async () => {
    await using f = new FleetHarness(redis.url);
    const a = f.gateway();
    const db = openGatewayDatabase(':memory:');
    const q = new QuotaExtension({ store: new SqliteGatewayStore(db), logger: silentLogger, activeRuns: a.fleet.activeRuns, limits: { concurrentRuns: 2, runsPerMinute: 0, cpuSecondsPerDay: 0, rooms: 0, storageBytes: 0 } });
    const owner = { key: 'user:ada', userId: 'ada', displayName: 'Ada' };
    await q.beforeRun({ caller: anonymous('127.0.0.1'), owner, roomId: null }); // a run of A's own
    q.afterRun({ owner, jobId: 'adopted', accepted: true, cpuMs: 1_500, adopted: true });
    await new Promise((r) => setTimeout(r, 50));
    expect(await a.fleet.activeRuns.count(owner.key)).toBe(1);
    q.afterRun({ owner, jobId: 'own', accepted: true, cpuMs: 10 });
    await eventually(async () => (await a.fleet.activeRuns.count(owner.key)) === 0, 'A released its own');
    db.close();
  });
});
