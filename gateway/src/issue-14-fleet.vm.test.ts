/**
 * Issue 14 on one machine, every part real: Redis and PostgreSQL started by
 * the test, two sandbox host processes with real microVMs (small pools) and
 * two gateway processes, clients over HTTP and WebSocket. Proves: edits and
 * cursors cross gateways; a run submitted through A streams through B with
 * replay and takes stdin typed through B; a room's second run lands on the
 * host of its first; restarting Redis mid-load loses no accepted run;
 * SIGKILL of gateway A loses no acknowledged edit and its clients reconnect
 * through B; SIGKILL of the room's sandbox host mid-run ends that run with
 * sandbox_unavailable and the room's next run succeeds on the other host.
 * And what runs are since issues 11-12: a TTY run started on one gateway's
 * page socket is resized through the other's, the file it wrote reaches the
 * room, and the room's shell opened through one gateway is listed and typed
 * into through the other.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import * as Y from 'yjs';
import { ROOM_DOC } from '@codecell/protocol';
import { connectRedis } from '@codecell/redis-kit';
import type { StreamMessage, StreamServerMessage } from '@codecell/protocol';
import { startTestPostgres, startTestRedis } from '@codecell/server-kit/test';
import type { TestPostgres, TestRedis } from '@codecell/server-kit/test';
import { openStream, stdoutOf, trpcClient } from './test/clients.js';
import { joinRoom, waitUntil } from './test/collabClients.js';
import type { RoomClient } from './test/collabClients.js';
import { startFailoverProxy } from './test/failoverProxy.js';
import type { FailoverProxy } from './test/failoverProxy.js';
import { startGatewayProcess } from './test/gatewayProcess.js';
import { openPage } from './test/pageClient.js';
import type { GatewayProcess } from './test/gatewayProcess.js';
import { startSandbox } from './test/sandboxProcess.js';
import type { SandboxProcess } from './test/sandboxProcess.js';

const TOKEN = `fleet-test-${randomBytes(16).toString('hex')}`;
let redis: TestRedis;
let pgServer: TestPostgres;
let databaseUrl: string;
const hosts: Record<string, SandboxProcess> = {};
let gwA: GatewayProcess;
let gwB: GatewayProcess;
let proxy: FailoverProxy;
const clients: RoomClient[] = [];
let prefix = '';

/** Runs each sandbox host executed so far, from its own health. */
async function runsOn(hostId: string): Promise<number> {
  const h = hosts[hostId];
  if (!h) return 0;
  const body = (await (await fetch(`${h.url}/healthz`)).json()) as { runs: { total: number } };
  return body.runs.total;
}

async function endOf(baseUrl: string, jobId: string): Promise<StreamMessage[]> {
  const s = openStream(baseUrl, jobId);
  await s.closed;
  return s.messages;
}

/** What Redis holds of a run, and the processes' last words: for a failure message. */
async function runState(jobId: string): Promise<string> {
  const r = connectRedis({ url: redis.url, name: 'fleet-test-explain' });
  try {
    const meta = await r.hgetall(`${prefix}:run:${jobId}`);
    const log = await r.xrange(`${prefix}:run:${jobId}:log`, '-', '+');
    const tails = [...Object.entries(hosts).map(([id, h]) => `${id}: ${h.stderrTail()}`), `gateway A: ${gwA.stderrTail()}`, `gateway B: ${gwB.stderrTail()}`];
    return [`meta ${JSON.stringify(meta)}`, `log ${JSON.stringify(log).slice(-2000)}`, ...tails.map((t) => t.slice(-1500))].join('\n');
  } finally {
    r.disconnect();
  }
}

/** `p`, or after `o.ms` an error saying `o.what` and what `o.explain` finds. */
async function withinOrExplain<T>(p: Promise<T>, o: { ms: number; what: string; explain: () => Promise<string> }): Promise<T> {
  const { ms, what, explain } = o;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => void explain().then((why) => reject(new Error(`${what}\n${why}`)), reject), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

beforeAll(async () => {
  [redis, pgServer] = await Promise.all([startTestRedis(), startTestPostgres()]);
  prefix = `vm${randomBytes(3).toString('hex')}`;
  const fleet = { REDIS_URL: redis.url, REDIS_PREFIX: prefix };
  const sandboxEnv = (id: string) => ({ ...fleet, SANDBOX_HOST_ID: id, SANDBOX_TOKEN: TOKEN, POOL_SIZE: '1', MAX_CONCURRENT_RUNS: '2', DRAIN_TIMEOUT_MS: '5000', SESSION_IDLE_MS: '600000' });
  // One after the other: two template VMs booting at once under TCG on 2 cores would each take twice as long.
  for (const id of ['host-1', 'host-2']) hosts[id] = await startSandbox({ env: sandboxEnv(id) });
  databaseUrl = await pgServer.createDatabase('fleet');
  const gatewayEnv = (id: string) => ({ ...fleet, GATEWAY_ID: id, DATABASE_URL: databaseUrl, RUN_TIMEOUT_MS: '30000' });
  [gwA, gwB] = await Promise.all([startGatewayProcess(gatewayEnv('gw-a')), startGatewayProcess(gatewayEnv('gw-b'))]);
  proxy = await startFailoverProxy([gwA.url, gwB.url]);
  // Both hosts registered.
  for (let i = 0; i < 100; i++) {
    const h = (await (await fetch(`${gwB.url}/healthz`)).json()) as { fleet?: { hosts: unknown[] } };
    if ((h.fleet?.hosts.length ?? 0) === 2) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}, 240_000);

afterAll(async () => {
  for (const c of clients) c.destroy();
  await proxy?.close();
  await Promise.allSettled([gwA?.kill('SIGTERM'), gwB?.kill('SIGTERM')]);
  await Promise.allSettled(Object.values(hosts).map((h) => h.stop()));
  await Promise.allSettled([redis?.stop(), pgServer?.stop()]);
}, 120_000);

function join(url: string, roomId: string): RoomClient {
  const c = joinRoom(url, roomId);
  clients.push(c);
  return c;
}

const files = (c: RoomClient) => c.doc.getMap<Y.Text>(ROOM_DOC.files);

describe('issue 14: a fleet of 2 gateways and 2 sandbox hosts with real microVMs', () => {
  let roomId: string;

  it('an edit on gateway A reaches a client of gateway B, with cursors', async () => {
    ({ roomId } = await trpcClient(gwA.url).createRoom.mutate({ title: 'Fleet' }));
    const a = join(gwA.url, roomId);
    const b = join(gwB.url, roomId);
    await Promise.all([a.synced(), b.synced()]);
    (files(a).get('main.py') as Y.Text).insert(0, '# from A\n');
    await a.acknowledged();
    await waitUntil(() => files(b).get('main.py')?.toJSON().startsWith('# from A\n') === true, { what: 'the edit on B', timeoutMs: 10_000 });
    a.provider.awareness?.setLocalState({ user: { name: 'Ada', color: '#e5484d' }, activeFile: 'main.py', cursor: { line: 1, column: 3 } });
    await waitUntil(() => [...(b.provider.awareness?.getStates().values() ?? [])].some((s) => (s as { cursor?: { column?: number } }).cursor?.column === 3), { what: "A's cursor on B", timeoutMs: 10_000 });
  });

  it('a run submitted through A streams through B with replay; stdin typed through B reaches it; the room\'s second run lands on the same host', async () => {
    // Each host's own /healthz reports its part in the fleet.
    const hostHealth = (await (await fetch(`${hosts['host-1']?.url}/healthz`)).json()) as Record<string, unknown>;
    expect(hostHealth['fleet']).toMatchObject({ hostId: 'host-1', redis: { ok: true }, draining: false });
    const before = { h1: await runsOn('host-1'), h2: await runsOn('host-2') };
    const { jobId } = await trpcClient(gwA.url).runCode.mutate({ roomId, files: [{ path: 'main.py', content: 'print("name?", flush=True)\nname = input()\nprint("hello", name)\n' }] });
    const live = openStream(gwB.url, jobId);
    await live.waitForStdout('name?\n', 90_000);
    await trpcClient(gwB.url).sendStdin.mutate({ jobId, data: 'Ravi\n', eof: true });
    expect((await live.closed).code).toBe(1000);
    expect(stdoutOf(live.messages)).toBe('name?\nhello Ravi\n');
    expect(live.messages.at(-1)).toMatchObject({ type: 'end', status: 'ok' });
    // A late joiner through B gets the same run from the start (the replay keeps only the latest `queued`, S2).
    const late = await endOf(gwB.url, jobId);
    const notQueued = (m: StreamMessage[]) => m.filter((x) => x.type !== 'queued' && x.type !== 'hello');
    expect(notQueued(late)).toEqual(notQueued(live.messages));
    const first = (await runsOn('host-1')) > before.h1 ? 'host-1' : 'host-2';
    // Second run of the room, through the other gateway: same host (its VM holds the room's /workspace).
    const second = await trpcClient(gwB.url).runCode.mutate({ roomId, files: [{ path: 'main.py', content: 'print("again")\n' }] });
    expect(stdoutOf(await endOf(gwA.url, second.jobId))).toBe('again\n');
    const after = { 'host-1': await runsOn('host-1'), 'host-2': await runsOn('host-2') };
    expect(after[first]).toBe((first === 'host-1' ? before.h1 : before.h2) + 2);
    expect(after[first === 'host-1' ? 'host-2' : 'host-1']).toBe(first === 'host-1' ? before.h2 : before.h1);
  }, 180_000);

  it("a TTY run started on A's page socket is resized through B's; the file it wrote reaches the room; the room's shell opened through B is typed into through A", async () => {
    const pageA = openPage(gwA.url);
    const pageB = openPage(gwB.url);
    const program = [
      'import os, signal, time',
      'def resized(*_):',
      '    c, r = os.get_terminal_size()',
      '    print(f"size {c}x{r}", flush=True)',
      '    open("size.txt", "w").write(f"{c}x{r}\\n")',
      '    raise SystemExit(0)',
      'signal.signal(signal.SIGWINCH, resized)',
      'print("ready", flush=True)',
      'time.sleep(60)',
    ].join('\n');
    pageA.send({ type: 'run', ref: 'tty', input: { roomId, files: [{ path: 'main.py', content: program }], tty: { cols: 80, rows: 24 } } });
    const accepted = await pageA.waitFor((m): m is Extract<StreamServerMessage, { type: 'accepted' }> => m.type === 'accepted' && m.ref === 'tty', 30_000);
    pageB.send({ type: 'watch', jobId: accepted.jobId });
    await pageB.waitUntil(() => pageB.stdout(accepted.jobId).includes('ready'), 90_000);
    pageB.send({ type: 'resize', jobId: accepted.jobId, cols: 100, rows: 30 });
    await pageB.waitUntil(() => pageB.jobMessages(accepted.jobId).at(-1)?.type === 'end', 60_000);
    expect(pageB.stdout(accepted.jobId)).toContain('size 100x30');
    expect(pageB.jobMessages(accepted.jobId).at(-1)).toMatchObject({ type: 'end', status: 'ok' });
    // A put the file into the room (B's client sees it); the streams carried it emptied.
    const onB = clients[1];
    if (!onB) throw new Error('no client of B');
    await waitUntil(() => files(onB).get('size.txt')?.toJSON() === '100x30\n', { what: 'size.txt in the room', timeoutMs: 10_000 });
    expect(pageB.jobMessages(accepted.jobId).find((m) => m.type === 'event' && m.event.type === 'file')).toMatchObject({ event: { path: 'size.txt', content: '' } });
    // The room's shell, opened through B, is A's page's too: listed, typed into, watched; it sees the room's files.
    pageA.send({ type: 'terminals', roomId });
    pageB.send({ type: 'terminal', ref: 'shell', roomId, program: 'bash', size: { cols: 80, rows: 24 } });
    const shell = await pageB.waitFor((m): m is Extract<StreamServerMessage, { type: 'accepted' }> => m.type === 'accepted' && m.ref === 'shell', 30_000);
    await pageA.waitFor((m) => m.type === 'terminals' && m.open.some((t) => t.jobId === shell.jobId && t.program === 'bash'), 30_000);
    pageA.send({ type: 'watch', jobId: shell.jobId });
    await pageB.waitUntil(() => pageB.stdout(shell.jobId).includes('$'), 90_000);
    pageA.send({ type: 'stdin', jobId: shell.jobId, data: 'echo fleet-$((6*7)); cat size.txt\r' });
    await pageB.waitUntil(() => /fleet-42\r?\n/.test(pageB.stdout(shell.jobId)) && pageB.stdout(shell.jobId).includes('100x30'), 60_000);
    pageA.send({ type: 'stdin', jobId: shell.jobId, data: 'exit\r' });
    await pageB.waitUntil(() => pageB.jobMessages(shell.jobId).at(-1)?.type === 'end', 60_000);
    await pageA.waitFor((m) => m.type === 'terminals' && m.open.length === 0, 30_000);
    pageA.ws.close();
    pageB.ws.close();
  }, 180_000);

  it('restarting Redis mid-load loses no accepted run', async () => {
    const accepted: Array<{ jobId: string; n: number }> = [];
    for (let n = 0; n < 4; n++) {
      const gw = n % 2 === 0 ? gwA : gwB;
      accepted.push({ jobId: (await trpcClient(gw.url).runCode.mutate({ roomId: `load-${n}`, files: [{ path: 'main.py', content: `print(${n} * 11)\n` }] })).jobId, n });
    }
    await redis.restart({ downMs: 300 });
    for (const { jobId, n } of accepted) {
      const messages = await withinOrExplain(endOf(gwB.url, jobId), { ms: 60_000, what: `run ${n} (${jobId}) never ended after the Redis restart`, explain: () => runState(jobId) });
      expect(messages.at(-1), `run ${n}`).toMatchObject({ type: 'end', status: 'ok' });
      expect(stdoutOf(messages)).toBe(`${n * 11}\n`);
    }
  }, 240_000);

  it('SIGKILL of gateway A loses no acknowledged edit, and its clients reconnect through B', async () => {
    // Only A holds the room now: what survives A is what A stored before acknowledging.
    for (const c of clients.splice(0)) c.destroy();
    await new Promise((r) => setTimeout(r, 2_000));
    const viaProxy = join(proxy.url, roomId);
    await viaProxy.synced();
    expect(proxy.routed.at(-1)).toBe(gwA.url);
    const main = files(viaProxy).get('main.py') as Y.Text;
    for (let i = 0; i < 20; i++) main.insert(main.length, `x = ${i}\n`);
    await viaProxy.acknowledged();
    const acked = main.toJSON();
    expect(await gwA.kill('SIGKILL')).toBe('SIGKILL');
    // Before the client reconnects (and would resend its state): PostgreSQL has every acknowledged edit.
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    const rows = await db.query<{ data: Buffer }>('SELECT data FROM room_updates WHERE room_id = $1 ORDER BY id', [roomId]);
    await db.end();
    const stored = new Y.Doc();
    Y.applyUpdate(stored, Y.mergeUpdates(rows.rows.map((r) => new Uint8Array(r.data))));
    expect(stored.getMap<Y.Text>(ROOM_DOC.files).get('main.py')?.toJSON()).toBe(acked);
    // The provider reconnects (through the proxy, which now reaches B) and resyncs.
    await waitUntil(() => proxy.routed.at(-1) === gwB.url && viaProxy.provider.isSynced, { what: 'the client to reconnect through B', timeoutMs: 20_000 });
    main.insert(main.length, 'after = 1\n');
    await viaProxy.acknowledged(20_000);
    // A fresh client of B has every acknowledged edit, and the one made after.
    const fresh = join(gwB.url, roomId);
    await fresh.synced();
    expect(files(fresh).get('main.py')?.toJSON()).toBe(`${acked}after = 1\n`);
  }, 60_000);

  it("SIGKILL of the room's sandbox host mid-run ends the run with sandbox_unavailable; the room's next run succeeds on the other host", async () => {
    const trpc = trpcClient(gwB.url);
    const before = { 'host-1': await runsOn('host-1'), 'host-2': await runsOn('host-2') };
    const { jobId } = await trpc.runCode.mutate({ roomId, files: [{ path: 'main.py', content: 'import time\nprint("working", flush=True)\ntime.sleep(60)\n' }] });
    const s = openStream(gwB.url, jobId);
    await s.waitForStdout('working\n', 90_000);
    const holder = (await runsOn('host-1')) > before['host-1'] ? 'host-1' : 'host-2';
    const other = holder === 'host-1' ? 'host-2' : 'host-1';
    await hosts[holder]?.crash();
    delete hosts[holder];
    const end = await s.waitFor((m) => m.type === 'end', 30_000);
    expect(end).toMatchObject({ type: 'end', status: 'sandbox_unavailable', message: expect.stringMatching(new RegExp(`host ${holder} stopped while this run was in flight`)) });
    // The next run of the room starts on the other host, its /workspace rebuilt from the room's files.
    const next = await trpc.runCode.mutate({
      roomId,
      files: [
        { path: 'main.py', content: 'import helper\nprint(helper.VALUE)\n' },
        { path: 'helper.py', content: 'VALUE = "rebuilt"\n' },
      ],
    });
    const messages = await endOf(gwB.url, next.jobId);
    expect(messages.at(-1)).toMatchObject({ type: 'end', status: 'ok' });
    expect(stdoutOf(messages)).toBe('rebuilt\n');
    expect(await runsOn(other)).toBe(before[other] + 1);
  }, 180_000);
});
