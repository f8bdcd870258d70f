import type { Database } from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { CodeCellError, runtimeInfos } from '@codecell/protocol';
import type { RunCodeOutput, StreamMessage } from '@codecell/protocol';
import { silentLogger } from '@codecell/server-kit';
import type { Caller } from '../../auth/Caller.js';
import { QuotaExceededError } from '../../quotas/QuotaExtension.js';
import { closeGatewayDatabase, openGatewayDatabase } from '../../store/migrations.js';
import { SqliteGatewayStore } from '../../store/SqliteGatewayStore.js';
import { CompatRunner } from '../CompatRunner.js';
import { Judge0Submissions } from './Judge0Submissions.js';
import type { Judge0SubmissionsOptions } from './Judge0Submissions.js';
import { newRecord } from './judge0Records.js';

const ada: Caller = { principal: { kind: 'user', userId: 'ada', username: 'ada', displayName: 'Ada', admin: false }, credential: { kind: 'token', tokenId: 't' }, address: '127.0.0.1' };
const end = (status: string): StreamMessage[] => [
  { type: 'event', seq: 0, event: { type: 'start', jobId: 'j', vmId: 'v', at: 0 } },
  { type: 'event', seq: 1, event: { type: 'stdout', data: 'hi\n' } },
  { type: 'event', seq: 2, event: { type: 'exit', code: 0, signal: null, status: 'ok', cpuMs: 1, wallMs: 1, maxRssKb: 1 } },
  { type: 'end', status, code: 0, message: null },
];

let db: Database | null = null;
afterEach(() => db && closeGatewayDatabase(db));

/** Submissions over a runner whose submit answers from `refusals` first (then runs finish at once). */
function setup(refusals: Error[], extra: Partial<Judge0SubmissionsOptions> = {}) {
  db = openGatewayDatabase(':memory:');
  const store = new SqliteGatewayStore(db);
  let now = 1_000_000;
  const attempts: number[] = [];
  const runner = new CompatRunner({
    submit: (): Promise<RunCodeOutput> => {
      attempts.push(now);
      const refusal = refusals.shift();
      return refusal ? Promise.reject(refusal) : Promise.resolve({ jobId: 'j', position: 0 });
    },
    subscribe: () => Promise.resolve({ hello: { type: 'hello', protocolVersion: 1, jobId: 'j', startedBy: null, truncated: false }, replay: end('ok'), unsubscribe: () => undefined }),
    sendStdin: () => Promise.resolve(),
    stop: () => Promise.resolve(),
  });
  const python = runtimeInfos({ py: '3.11.2' }).filter((r) => r.id === 'py');
  const subs = new Judge0Submissions({ store, runner, runtimes: { runnable: () => Promise.resolve(python) }, limits: { defaultTimeoutMs: 5000, maxTimeoutMs: 60_000, maxMemoryMb: 128, maxCompileMemoryMb: 512 }, logger: silentLogger, retentionMs: 3_600_000, maxQueueSize: 10, maxQueuedBytes: 1 << 20, maxInFlightPerOwner: 2, now: () => now, ...extra });
  return { subs, store, attempts, advance: (ms: number) => (now += ms) };
}

const quota = (quota: 'concurrent_runs' | 'runs_per_minute' | 'cpu_seconds_per_day', resetsAt: number | null) => new QuotaExceededError({ quota, limit: 1, used: 1, resetsAt }, { what: 'test', now: 0 });

describe('Judge0Submissions (J6)', () => {
  it('waits for a runs-per-minute quota until the minute ends, then runs', async () => {
    const { subs, attempts } = setup([quota('runs_per_minute', 1_000_000 + 1_200)]);
    const [created] = await subs.create(ada, [{ language_id: 71, source_code: 'print(1)' }], { base64: false });
    const token = (created as { token: string }).token;
    const done = await subs.finished(token);
    expect(done).toMatchObject({ status_id: 3, stdout: Buffer.from('hi\n').toString('base64') });
    expect(attempts).toHaveLength(2);
  });

  it('a CPU-seconds-per-day quota ends the submission as Internal Error with the quota\'s message; other errors too', async () => {
    const { subs } = setup([quota('cpu_seconds_per_day', null), new CodeCellError('limit_exceeded', 'limits.memoryMb is 200')]);
    const created = await subs.create(ada, [{ language_id: 71, source_code: 'a' }, { language_id: 71, source_code: 'b' }], { base64: false });
    const records = await Promise.all(created.map(async (c) => await subs.finished((c as { token: string }).token)));
    expect(records.map((r) => [r?.status_id, r?.message])).toEqual([
      [13, expect.stringMatching(/^quota cpu_seconds_per_day reached/) as string],
      [13, 'limits.memoryMb is 200'],
    ]);
  });

  it('a full run queue or a concurrent-runs quota is retried; dispose ends what still waits as Internal Error', async () => {
    const { subs, attempts } = setup([new CodeCellError('capacity_exceeded', 'full'), quota('concurrent_runs', null)]);
    const [created] = await subs.create(ada, [{ language_id: 71, source_code: 'x' }], { base64: false });
    const token = (created as { token: string }).token;
    await new Promise((r) => setTimeout(r, 50));
    expect(attempts).toHaveLength(1);
    await subs.dispose();
    expect(await subs.finished(token)).toBeNull();
    expect((await subs.get(ada, [token]))[0]).toMatchObject({ status_id: 13, message: 'the gateway shut down before this submission ran; submit it again' });
    await expect(subs.create(ada, [{ language_id: 71, source_code: 'x' }], { base64: false })).rejects.toMatchObject({ code: 'sandbox_unavailable' });
  });

  it('issue 14: gateways sharing one database end only lost submissions: their own from before a restart, those of gateways gone, and older ones', async () => {
    const { subs, store } = setup([], { gatewayId: 'gw-b', liveGateways: () => Promise.resolve(new Set(['gw-a', 'gw-b'])) });
    const rows = [
      ['on-a', 'gw-a'],
      ['on-gone', 'gw-c'],
      ['mine-before-restart', 'gw-b'],
      ['before-fleet', undefined],
    ].map(([token, gateway]) => {
      const r = newRecord({ token: token ?? '', languageId: 71, languageName: 'Python (3.11.2)', source: Buffer.from('x'), stdin: null, expectedOutput: null, request: {}, createdAt: 1, ...(gateway ? { gateway } : {}) });
      return { token: r.token, owner: 'user:ada', createdAt: 1, expiresAt: 9_999_999_999_999, finishedAt: null, record: JSON.stringify(r) };
    });
    await store.createSubmissions(rows);
    await subs.recover();
    const after = await subs.get(ada, rows.map((r) => r.token));
    expect(after.map((r) => [r?.token, r?.status_id])).toEqual([
      ['on-a', 1],
      ['on-gone', 13],
      ['mine-before-restart', 13],
      ['before-fleet', 13],
    ]);
  });
});
