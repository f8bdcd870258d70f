/**
 * Issue 10 on the gateway (SPEC L1-L4), against a scripted sandbox: the run
 * language from the entry file or an explicit choice, compile limits passed
 * on, stage and diagnostics events on the stream, `compile_error` in the
 * room's record, rooms created for a language, and `runtimes` from
 * `GET /runtimes`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import { ROOM_DOC, RUNTIME_IDS, helloTemplate, runtimeInfos } from '@codecell/protocol';
import type { RoomRunRecord, RunRequest } from '@codecell/protocol';
import { loadConfig } from './config.js';
import { createGateway } from './server.js';
import type { Gateway } from './server.js';
import { closeGatewayDatabase, openGatewayDatabase } from './store/migrations.js';
import { SqliteGatewayStore } from './store/SqliteGatewayStore.js';
import { captureLogger } from './test/captureLogger.js';
import { kindsOf, openStream, trpcClient } from './test/clients.js';
import { joinRoom, waitUntil } from './test/collabClients.js';
import { sendError, startFakeSandboxServer, startNdjson, writeEvent } from './test/fakeSandboxServer.js';
import type { FakeHandler, FakeSandboxServer } from './test/fakeSandboxServer.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const diagnostic = { file: 'main.cpp', line: 3, column: 5, severity: 'error', message: "expected ';' before '}' token", code: null } as const;

/** A sandbox that lists C++ and Go besides Python, and fails every C++ run with a compile error. */
const multiLanguage: FakeHandler = (req, res) => {
  if (req.path === '/runtimes') {
    return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ runtimes: runtimeInfos({ py: '3.11.2', cpp: '12.2.0', go: '1.19.8' }).filter((r) => ['py', 'cpp', 'go'].includes(r.id)) }));
  }
  if (req.path !== '/run') return void res.writeHead(202).end('{}');
  const body = req.body as RunRequest;
  startNdjson(res, 'sbx-1');
  writeEvent(res, { type: 'start', jobId: 'sbx-1', vmId: 'vm', at: 1 });
  writeEvent(res, { type: 'stage', name: 'compile' });
  if (body.language === 'cpp') {
    writeEvent(res, { type: 'stderr', data: "main.cpp:3:5: error: expected ';' before '}' token\n" });
    writeEvent(res, { type: 'diagnostics', diagnostics: [diagnostic] });
    writeEvent(res, { type: 'exit', code: 1, signal: null, status: 'compile_error', cpuMs: 5, wallMs: 9, maxRssKb: 30 });
  } else {
    writeEvent(res, { type: 'stage', name: 'run' });
    writeEvent(res, { type: 'stdout', data: 'Hello, world!\n' });
    writeEvent(res, { type: 'exit', code: 0, signal: null, status: 'ok', cpuMs: 1, wallMs: 2, maxRssKb: 3 });
  }
  res.end();
};

async function setup(handler: FakeHandler = multiLanguage): Promise<{ gw: Gateway; fake: FakeSandboxServer; log: ReturnType<typeof captureLogger> }> {
  const fake = await startFakeSandboxServer(handler);
  cleanups.push(() => fake.close());
  const log = captureLogger();
  const gw = await createGateway(loadConfig({ PORT: '0', SANDBOX_ADDR: fake.url, COLLAB_DB: ':memory:' }), log.logger);
  cleanups.push(() => gw.close());
  return { gw, fake, log };
}

const sentRuns = (fake: FakeSandboxServer): RunRequest[] => fake.requests.filter((r) => r.path === '/run').map((r) => r.body as RunRequest);

describe('issue 10: languages through the gateway', () => {
  it('L1: the entry file decides the language; an explicit one wins where the extension cannot tell', async () => {
    const { gw, fake } = await setup();
    const api = trpcClient(gw.url);
    const go = [{ path: 'main.go', content: 'package main' }, { path: 'util.go', content: 'package main' }];
    await api.runCode.mutate({ files: go, entry: 'main.go' });
    await api.runCode.mutate({ files: [{ path: 'run', content: 'print(1)' }], entry: 'run', language: 'python3' });
    await api.runCode.mutate({ files: [{ path: 'list.h', content: '' }, { path: 'list.cpp', content: '' }], entry: 'list.h', language: 'c++' });
    await api.runCode.mutate({ language: 'go', source: 'package main' });
    await waitUntil(() => sentRuns(fake).length === 4, { what: 'four runs at the sandbox' });
    expect(sentRuns(fake).map((r) => [r.language, r.entry])).toEqual([
      ['go', 'main.go'],
      ['py', 'run'],
      ['cpp', 'list.h'],
      ['go', 'main.go'],
    ]);
    expect(sentRuns(fake)[0]?.files).toEqual([{ path: 'util.go', content: 'package main' }]);
  });

  it('L1: a language the entry rules out is invalid_request saying what to change, and never reaches the sandbox', async () => {
    const { gw, fake } = await setup();
    const res = await fetch(`${gw.url}/trpc/runCode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ files: [{ path: 'main.go', content: '' }], entry: 'main.go', language: 'py' }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: {
        message: 'invalid input: language: entry main.go is a Go file (.go), so it cannot run as Python (py): give language "go" (or leave it out: the extension decides), or rename the file to end in .py',
        data: { codecellCode: 'invalid_request' },
      },
    });
    expect(sentRuns(fake)).toEqual([]);
  });

  it('L4: compile limits go to the sandbox, which defaults and caps them per runtime', async () => {
    const { gw, fake } = await setup();
    await trpcClient(gw.url).runCode.mutate({ language: 'cpp', source: 'int main(){}', limits: { compileTimeoutMs: 30_000, compileMemoryMb: 256 } });
    await waitUntil(() => sentRuns(fake).length === 1, { what: 'the run at the sandbox' });
    expect(sentRuns(fake)[0]?.limits).toMatchObject({ compileTimeoutMs: 30_000, compileMemoryMb: 256 });
  });

  it('L4: stage and diagnostics events reach every stream in order; a failed compile ends compile_error, recorded in the room', async () => {
    const { gw } = await setup();
    const api = trpcClient(gw.url);
    const { roomId } = await api.createRoom.mutate({ language: 'cpp' });
    const { jobId } = await api.runCode.mutate({ roomId, files: [{ path: 'main.cpp', content: 'int main() { return 0 }' }], entry: 'main.cpp' });
    const a = openStream(gw.url, jobId);
    await a.closed;
    expect(kindsOf(a.messages)).toEqual(['hello', 'queued', 'start', 'stage', 'stderr', 'diagnostics', 'exit', 'end']);
    expect(a.messages.find((m) => m.type === 'event' && m.event.type === 'diagnostics')).toMatchObject({ event: { diagnostics: [diagnostic] } });
    expect(a.messages.at(-1)).toMatchObject({ type: 'end', status: 'compile_error', code: 1 });
    const late = openStream(gw.url, jobId);
    await late.closed;
    expect(late.messages).toEqual(a.messages);
    const client = joinRoom(gw.url, roomId);
    cleanups.push(() => client.destroy());
    await client.synced();
    const runs = (): RoomRunRecord[] => client.doc.getArray<RoomRunRecord>(ROOM_DOC.runs).toArray();
    await waitUntil(() => runs()[0]?.status === 'compile_error', { what: 'the compile_error record' });
    expect(runs()[0]).toMatchObject({ jobId, status: 'compile_error', exitCode: 1 });
  });

  it('L3: createRoom {language} seeds that language\'s hello world as the entry and sets meta.language', async () => {
    const { gw } = await setup();
    const api = trpcClient(gw.url);
    const { roomId } = await api.createRoom.mutate({ language: 'golang', title: 'Go lab' });
    expect(await api.getRoom.query({ roomId })).toMatchObject({ files: ['main.go'], entry: 'main.go', title: 'Go lab' });
    const client = joinRoom(gw.url, roomId);
    cleanups.push(() => client.destroy());
    await client.synced();
    const [hello] = helloTemplate('go');
    expect(client.doc.getMap<Y.Text>(ROOM_DOC.files).get('main.go')?.toJSON()).toBe(hello?.content);
    expect(client.doc.getMap(ROOM_DOC.meta).toJSON()).toMatchObject({ entry: 'main.go', language: 'go' });
    const py = await api.createRoom.mutate({});
    expect(await api.getRoom.query({ roomId: py.roomId })).toMatchObject({ files: ['main.py'], entry: 'main.py' });
    // An existing room keeps what it has.
    expect(await api.createRoom.mutate({ roomId, language: 'rust' })).toEqual({ roomId, created: false });
    expect((await api.getRoom.query({ roomId })).files).toEqual(['main.go']);
  });

  it('L3: a room registered for a language but never seeded (the gateway died in between) gets that starter when it loads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-issue10-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'collab.sqlite');
    const db = openGatewayDatabase(path);
    await new SqliteGatewayStore(db).createRoom({ roomId: 'rusty', title: 'Rust', ownerId: 'local', createdAt: 1, language: 'rs' });
    closeGatewayDatabase(db);
    const fake = await startFakeSandboxServer(multiLanguage);
    cleanups.push(() => fake.close());
    const gw = await createGateway(loadConfig({ PORT: '0', SANDBOX_ADDR: fake.url, COLLAB_DB: path }), captureLogger().logger);
    cleanups.push(() => gw.close());
    const client = joinRoom(gw.url, 'rusty');
    cleanups.push(() => client.destroy());
    await client.synced();
    expect([...client.doc.getMap(ROOM_DOC.files).keys()]).toEqual(['main.rs']);
    expect(client.doc.getMap(ROOM_DOC.meta).toJSON()).toMatchObject({ entry: 'main.rs', language: 'rs' });
  });

  it('L2: runtimes is the table with the versions from GET /runtimes; what the sandbox lacks is unavailable', async () => {
    const { gw } = await setup();
    const runtimes = await trpcClient(gw.url).runtimes.query();
    expect(runtimes.map((r) => r.language)).toEqual(RUNTIME_IDS);
    expect(runtimes.filter((r) => r.available).map((r) => `${r.name} ${r.version ?? '?'}`)).toEqual(['Python 3.11.2', 'Go 1.19.8', 'C++ 12.2.0']);
    expect(runtimes.find((r) => r.language === 'java')).toMatchObject({ available: false, version: null, entry: 'Main.java', monaco: 'java', compiled: true });
  });

  it('L2: a sandbox without GET /runtimes (older) lists Python only; an unreachable one nothing; both logged', async () => {
    const { gw, fake, log } = await setup((req, res) => sendError(res, 404, { code: 'not_found', message: `no route ${req.method} ${req.path}` }));
    const api = trpcClient(gw.url);
    const older = await api.runtimes.query();
    expect(older.filter((r) => r.available).map((r) => r.language)).toEqual(['py']);
    expect(older).toHaveLength(RUNTIME_IDS.length);
    expect(log.entries.some((e) => e.level === 'warn' && /no GET \/runtimes/.test(e.msg))).toBe(true);
    await fake.close();
    const other = await setup((_req, res) => void res.destroy());
    const down = await trpcClient(other.gw.url).runtimes.query();
    expect(down.every((r) => !r.available && r.version === null)).toBe(true);
    expect(other.log.entries.some((e) => e.level === 'warn' && /cannot list runtimes/.test(e.msg))).toBe(true);
  });
});
