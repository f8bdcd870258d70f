/**
 * Issue 14: two real gateways (HTTP, tRPC, /stream, /collab) sharing one
 * Redis and one PostgreSQL that the test starts, with sandbox hosts whose VMs
 * are fakes. An edit on gateway A reaches a client of gateway B with its
 * cursor; a run submitted through A streams through B with replay and takes
 * stdin typed through B; /healthz and /metrics of each gateway report the
 * fleet. (The same with real microVMs and killed processes:
 * issue-14-fleet.vm.test.ts.)
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ROOM_DOC } from '@codecell/protocol';
import { FleetHost } from '@codecell/sandbox/fleet';
import { silentLogger } from '@codecell/server-kit';
import { startTestPostgres, startTestRedis } from '@codecell/server-kit/test';
import type { TestPostgres, TestRedis } from '@codecell/server-kit/test';
import { loadConfig } from './config.js';
import { createGateway } from './server.js';
import type { Gateway } from './server.js';
import { openStream, stdoutOf, trpcClient } from './test/clients.js';
import { joinRoom, waitUntil } from './test/collabClients.js';
import { FakeHostRunner } from './test/FakeHostRunner.js';

let redis: TestRedis;
let pg: TestPostgres;
let a: Gateway;
let b: Gateway;
let host: FleetHost;
let runner: FakeHostRunner;
const METRICS_TOKEN = 'metrics-token-0123456789abcdef0123456789';

beforeAll(async () => {
  [redis, pg] = await Promise.all([startTestRedis(), startTestPostgres()]);
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const env = { PORT: '0', REDIS_URL: redis.url, REDIS_PREFIX: prefix, DATABASE_URL: await pg.createDatabase('fleet'), LOG_LEVEL: 'silent' };
  a = await createGateway(loadConfig({ ...env, GATEWAY_ID: 'gw-a' }), silentLogger);
  b = await createGateway(loadConfig({ ...env, GATEWAY_ID: 'gw-b', METRICS_TOKEN }), silentLogger);
  runner = new FakeHostRunner({ capacity: 2 });
  host = await FleetHost.start({ redisUrl: redis.url, prefix, hostId: 'host-1', runner, logger: silentLogger, sessionTtlMs: 60_000 });
}, 60_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await host?.dispose();
  await Promise.all([redis?.stop(), pg?.stop()]);
});

describe('issue 14: two gateways, one fleet', () => {
  it('an edit on gateway A reaches a client of gateway B, with its cursor, and back; the room is in PostgreSQL', async () => {
    const { roomId } = await trpcClient(a.url).createRoom.mutate({ title: 'Shared' });
    // B knows the room A registered: the store is shared.
    expect(await trpcClient(b.url).getRoom.query({ roomId })).toMatchObject({ exists: true, title: 'Shared' });
    using onA = joinRoom(a.url, roomId);
    using onB = joinRoom(b.url, roomId);
    await Promise.all([onA.synced(), onB.synced()]);
    const main = onA.doc.getMap<Y.Text>(ROOM_DOC.files).get('main.py') as Y.Text;
    main.insert(0, '# edited on A\n');
    const text = onA.doc.getMap<Y.Text>(ROOM_DOC.files);
    await onA.acknowledged();
    await waitUntil(() => onB.doc.getMap<Y.Text>(ROOM_DOC.files).get('main.py')?.toJSON().startsWith('# edited on A\n') === true, { what: 'the edit on B' });
    // Cursors: A's awareness state (user, active file, cursor) shows on B.
    const cursor = Y.createRelativePositionFromTypeIndex(main, 3);
    onA.provider.awareness?.setLocalState({ user: { name: 'Ada', color: '#e5484d' }, activeFile: 'main.py', selection: { anchor: cursor, head: cursor }, cursor: { line: 1, column: 4 } });
    await waitUntil(() => [...(onB.provider.awareness?.getStates().values() ?? [])].some((s) => (s as { user?: { name?: string } }).user?.name === 'Ada'), { what: "A's cursor on B" });
    const seen = [...(onB.provider.awareness?.getStates().values() ?? [])].find((s) => (s as { user?: { name?: string } }).user?.name === 'Ada') as { cursor?: unknown; activeFile?: unknown };
    expect(seen).toMatchObject({ activeFile: 'main.py', cursor: { line: 1, column: 4 } });
    // And back: B's edit reaches A.
    (onB.doc.getMap<Y.Text>(ROOM_DOC.files).get('main.py') as Y.Text).insert(0, '# and on B\n');
    await onB.acknowledged();
    await waitUntil(() => (text.get('main.py') as Y.Text).toJSON().startsWith('# and on B\n# edited on A\n'), { what: "B's edit on A" });
    // Every acknowledged edit is in PostgreSQL (stored by the gateway that took it).
    const stored = new Y.Doc();
    Y.applyUpdate(stored, Y.mergeUpdates(await a.collab.log.loadUpdates(roomId)));
    expect(stored.getMap<Y.Text>(ROOM_DOC.files).get('main.py')?.toJSON()).toMatch(/^# and on B\n# edited on A\n/);
  });

  it('a run submitted through A streams through B with replay, and stdin typed through B reaches it', async () => {
    const { jobId } = await trpcClient(a.url).runCode.mutate({ files: [{ path: 'main.py', content: 'print(input())' }] });
    const run = await runner.nth(0);
    run.start();
    run.push({ type: 'stdout', data: 'name? ' });
    const early = openStream(b.url, jobId);
    await early.waitForStdout('name? ');
    await trpcClient(b.url).sendStdin.mutate({ jobId, data: 'Ravi\n', eof: true });
    await waitUntil(() => run.stdin.length === 1, { what: 'stdin on the host' });
    expect(run.stdin).toEqual([{ data: 'Ravi\n', eof: true }]);
    run.push({ type: 'stdout', data: 'Ravi\n' });
    run.exit('ok');
    expect((await early.closed).code).toBe(1000);
    expect(stdoutOf(early.messages)).toBe('name? Ravi\n');
    // A late joiner on B gets everything.
    const late = openStream(b.url, jobId);
    await late.closed;
    expect(late.messages.slice(1)).toEqual(early.messages.slice(1));
    expect(late.messages.at(-1)).toMatchObject({ type: 'end', status: 'ok' });
  });

  it('/healthz reports Redis, the database and the live hosts with their free slots; /metrics the fleet', async () => {
    const health = (await (await fetch(`${a.url}/healthz`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({
      ok: true,
      gatewayId: 'gw-a',
      database: { kind: 'postgres', ok: true },
      fleet: { redis: { ok: true }, hosts: [{ hostId: 'host-1', capacity: 2, free: 2, draining: false }] },
    });
    const gateways = (health['fleet'] as { gateways: Array<{ gatewayId: string }> }).gateways.map((g) => g.gatewayId);
    expect(gateways).toEqual(['gw-a', 'gw-b']);
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(metrics).toMatch(/^codecell_run_queue_depth\{gateway="gw-a"\} 0$/m);
    expect(metrics).toMatch(/^codecell_runs_total\{status="ok",gateway="gw-a"\} 1$/m);
    expect(metrics).toMatch(/^codecell_run_latency_seconds_count\{gateway="gw-a"\} 1$/m);
    expect(metrics).toMatch(/^codecell_sandbox_hosts\{state="open",gateway="gw-a"\} 1$/m);
    expect(metrics).toMatch(/^codecell_sandbox_free_slots\{gateway="gw-a"\} 2$/m);
    // B has METRICS_TOKEN: without it, refused.
    expect((await fetch(`${b.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${b.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);
  });
});
