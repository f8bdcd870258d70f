import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import * as Y from 'yjs';
import type { TRPCClientError } from '@trpc/client';
import { ROOM_DOC, awarenessStateSchema, parseCollabReason, roomRunRecordSchema } from '@codecell/protocol';
import type { RoomRunRecord } from '@codecell/protocol';
import { loadConfig } from '../config.js';
import { silentLogger } from '@codecell/server-kit';
import { createGateway } from '../server.js';
import type { Gateway } from '../server.js';
import { trpcClient } from '../test/clients.js';
import { joinRoom, waitUntil } from '../test/collabClients.js';
import type { RoomClient } from '../test/collabClients.js';
import { startFakeSandboxServer, startNdjson, writeEvent } from '../test/fakeSandboxServer.js';
import type { FakeHandler } from '../test/fakeSandboxServer.js';
import { STARTER_ENTRY, STARTER_MAIN_PY } from './roomDoc.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const idle: FakeHandler = (_req, res) => void res.writeHead(503).end('{}');

async function gateway(env: Record<string, string> = {}, handler: FakeHandler = idle): Promise<Gateway> {
  const fake = await startFakeSandboxServer(handler);
  cleanups.push(() => fake.close());
  const gw = await createGateway(loadConfig({ PORT: '0', SANDBOX_ADDR: fake.url, COLLAB_DB: ':memory:', ...env }), silentLogger);
  cleanups.push(() => gw.close());
  return gw;
}

function join(gw: Gateway, roomId: string, o?: Parameters<typeof joinRoom>[2]): RoomClient {
  const client = joinRoom(gw.url, roomId, o);
  cleanups.push(() => client.destroy());
  return client;
}

const text = (c: RoomClient, path = STARTER_ENTRY): string => c.doc.getMap<Y.Text>(ROOM_DOC.files).get(path)?.toJSON() ?? '';
const runsOf = (doc: Y.Doc): RoomRunRecord[] => doc.getArray<RoomRunRecord>(ROOM_DOC.runs).toArray();

describe('collab rooms (ws /collab)', () => {
  it('C3 C4 C5: createRoom seeds main.py; getRoom reports it; two clients converge on concurrent edits', async () => {
    const gw = await gateway();
    const api = trpcClient(gw.url);
    const { roomId, created } = await api.createRoom.mutate({ title: 'Pairing' });
    expect(created).toBe(true);
    expect(await api.getRoom.query({ roomId })).toEqual({ exists: true, title: 'Pairing', files: ['main.py'], entry: 'main.py', createdAt: expect.any(Number) as number, role: 'owner', limits: { maxFileBytes: 2 * 1024 * 1024, maxRoomBytes: 5 * 1024 * 1024, maxRoomFiles: 100 } });
    const a = join(gw, roomId);
    const b = join(gw, roomId);
    await Promise.all([a.synced(), b.synced()]);
    expect(text(a)).toBe(STARTER_MAIN_PY);
    expect(a.doc.getMap(ROOM_DOC.meta).toJSON()).toMatchObject({ entry: 'main.py', title: 'Pairing', protocolVersion: 1 });

    // Interleaved edits of the same Y.Text from both sides, without waiting in between.
    const ta = a.doc.getMap<Y.Text>(ROOM_DOC.files).get(STARTER_ENTRY);
    const tb = b.doc.getMap<Y.Text>(ROOM_DOC.files).get(STARTER_ENTRY);
    for (let i = 0; i < 30; i++) {
      ta?.insert(0, `a${i};`);
      tb?.insert(tb.length, `b${i};`);
      tb?.insert(Math.floor(tb.length / 2), `m${i};`);
    }
    await Promise.all([a.acknowledged(), b.acknowledged()]);
    await waitUntil(() => text(a) === text(b), { what: 'both clients to converge' });
    for (let i = 0; i < 30; i++) for (const tag of [`a${i};`, `b${i};`, `m${i};`]) expect(text(a)).toContain(tag);
    expect(gw.collab.loadedDocument(roomId)?.getMap<Y.Text>(ROOM_DOC.files).get(STARTER_ENTRY)?.toJSON()).toBe(text(a));
  });

  it('C8: relays awareness and drops states that break the protocol', async () => {
    const gw = await gateway();
    const { roomId } = await trpcClient(gw.url).createRoom.mutate({});
    const a = join(gw, roomId);
    const b = join(gw, roomId);
    const eve = join(gw, roomId);
    await Promise.all([a.synced(), b.synced(), eve.synced()]);
    const seenByB: unknown[] = [];
    b.provider.awareness?.on('change', () => seenByB.push(...(b.provider.awareness?.getStates().values() ?? [])));

    const ytext = a.doc.getMap<Y.Text>(ROOM_DOC.files).get(STARTER_ENTRY) as Y.Text;
    const selection = { anchor: Y.createRelativePositionFromTypeIndex(ytext, 2), head: Y.createRelativePositionFromTypeIndex(ytext, 9) };
    a.provider.setAwarenessField('user', { name: 'Ada', color: '#ff8800' });
    a.provider.setAwarenessField('activeFile', 'main.py');
    a.provider.setAwarenessField('selection', selection);
    eve.provider.setAwarenessField('user', { name: 'Eve', color: 'red; } body { display: none' });

    const stateOf = (name: string) => [...(b.provider.awareness?.getStates().values() ?? [])].find((s) => (s['user'] as { name?: string } | undefined)?.name === name);
    await waitUntil(() => stateOf('Ada')?.['selection'] !== undefined, { what: "Ada's awareness at b" });
    const ada = awarenessStateSchema.parse(stateOf('Ada'));
    expect(ada).toMatchObject({ user: { name: 'Ada', color: '#ff8800' }, activeFile: 'main.py' });
    // The relative positions still resolve in b's copy of the file.
    const head = Y.createAbsolutePositionFromRelativePosition(ada.selection?.head as Y.RelativePosition, b.doc);
    expect(head?.index).toBe(9);

    eve.provider.setAwarenessField('user', { name: 'Eve', color: 'hsl(120 50% 50%)' });
    await waitUntil(() => stateOf('Eve') !== undefined, { what: "Eve's valid awareness at b" });
    expect(seenByB.some((s) => JSON.stringify(s).includes('display: none'))).toBe(false);
  });

  it('C1 C2: refuses invalid room names and other protocol versions with a clear reason', async () => {
    const gw = await gateway();
    const bad = join(gw, 'no spaces!');
    const long = join(gw, 'x'.repeat(65));
    const old = join(gw, 'fine', { protocolVersion: 0 });
    const future = join(gw, 'fine', { protocolVersion: 99 });
    await waitUntil(() => [bad, long, old, future].every((c) => c.refusals.length > 0), { what: 'all four refusals' });
    expect(parseCollabReason(bad.refusals[0] ?? '')).toEqual({ code: 'invalid_request', message: 'room "no spaces!" is not a valid roomId; use 1-64 of [A-Za-z0-9_-]' });
    expect(long.refusals[0]).toMatch(/^invalid_request: room "x{40}…" is not a valid roomId/);
    expect(old.refusals[0]).toBe('clientTooOld');
    expect(future.refusals[0]).toBe('clientTooNew');
    expect(gw.collab.loadedRooms).toBe(0);
    // The same socket path keeps working for valid rooms, with or without a version.
    const ok = join(gw, 'fine', { protocolVersion: null });
    await ok.synced();
    const err = await trpcClient(gw.url).getRoom.query({ roomId: 'no spaces!' }).catch((e: unknown) => e);
    expect((err as TRPCClientError<never>).data).toMatchObject({ codecellCode: 'invalid_request' });
  });

  it('C7: refuses an update that would exceed MAX_ROOM_BYTES without applying it; the room goes on', async () => {
    const gw = await gateway({ MAX_ROOM_BYTES: String(64 * 1024) });
    const { roomId } = await trpcClient(gw.url).createRoom.mutate({});
    const big = join(gw, roomId);
    const other = join(gw, roomId);
    await Promise.all([big.synced(), other.synced()]);
    big.doc.getMap<Y.Text>(ROOM_DOC.files).get(STARTER_ENTRY)?.insert(0, 'x'.repeat(100 * 1024));
    await waitUntil(() => big.closes.length > 0, { what: 'the refusal' });
    expect(parseCollabReason(big.closes[0] ?? '')).toMatchObject({ code: 'payload_too_large', message: expect.stringMatching(/limit is 64.0 KiB \(MAX_ROOM_BYTES\)/) as string });
    const server = gw.collab.loadedDocument(roomId)?.getMap<Y.Text>(ROOM_DOC.files).get(STARTER_ENTRY)?.toJSON();
    expect(server).toBe(STARTER_MAIN_PY);
    other.doc.getMap<Y.Text>(ROOM_DOC.files).get(STARTER_ENTRY)?.insert(0, '# still fine\n');
    await other.acknowledged();
    expect(gw.collab.loadedDocument(roomId)?.getMap<Y.Text>(ROOM_DOC.files).get(STARTER_ENTRY)?.toJSON()).toBe(`# still fine\n${STARTER_MAIN_PY}`);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });

  it('C7: refuses updates that add too many files or files with bad paths', async () => {
    const gw = await gateway({ MAX_ROOM_FILES: '3' });
    const { roomId } = await trpcClient(gw.url).createRoom.mutate({});
    const a = join(gw, roomId);
    await a.synced();
    const files = a.doc.getMap<Y.Text>(ROOM_DOC.files);
    a.doc.transact(() => {
      files.set('a.py', new Y.Text('1'));
      files.set('b.py', new Y.Text('2'));
    });
    await a.acknowledged();
    a.doc.transact(() => {
      files.set('c.py', new Y.Text('3'));
      files.set('d.py', new Y.Text('4'));
    });
    await waitUntil(() => a.closes.length > 0, { what: 'the refusal' });
    expect(a.closes[0]).toBe('too_many_files: the room has 3 files and this change adds 2; the limit is 3 (MAX_ROOM_FILES)');
    expect(await trpcClient(gw.url).getRoom.query({ roomId })).toMatchObject({ files: ['a.py', 'b.py', 'main.py'] });

    const b = join(gw, roomId);
    await b.synced();
    b.doc.getMap<Y.Text>(ROOM_DOC.files).delete('a.py');
    b.doc.getMap<Y.Text>(ROOM_DOC.files).set('../escape.py', new Y.Text('x'));
    await waitUntil(() => b.closes.length > 0, { what: 'the path refusal' });
    expect(parseCollabReason(b.closes[0] ?? '')?.code).toBe('invalid_path');
  });

  it('C4: createRoom with a roomId is idempotent and seeds a room a client opened empty', async () => {
    const gw = await gateway();
    const api = trpcClient(gw.url);
    expect(await api.getRoom.query({ roomId: 'lobby' })).toEqual({ exists: false, title: null, files: [], entry: null, createdAt: null, role: null, limits: expect.any(Object) as object });
    const early = join(gw, 'lobby');
    await early.synced();
    expect(early.doc.getMap(ROOM_DOC.files).size).toBe(0);
    expect(await api.createRoom.mutate({ roomId: 'lobby', title: 'Lobby' })).toEqual({ roomId: 'lobby', created: true });
    await waitUntil(() => text(early) === STARTER_MAIN_PY, { what: 'the seed to reach the early client' });
    expect(await api.createRoom.mutate({ roomId: 'lobby', title: 'Other' })).toEqual({ roomId: 'lobby', created: false });
    expect(early.doc.getMap<Y.Text>(ROOM_DOC.files).size).toBe(1);
    expect(await api.getRoom.query({ roomId: 'lobby' })).toMatchObject({ exists: true, title: 'Lobby', files: ['main.py'] });
  });

  it('C6: runCode with a roomId records the run in the room: queued → running → ok, seen by late joiners too', async () => {
    const gates = { start: deferred(), exit: deferred() };
    const gw = await gateway({}, async (req, res) => {
      if (req.path !== '/run') return void res.writeHead(202).end('{}');
      startNdjson(res, 'sbx-1');
      await gates.start.promise;
      writeEvent(res, { type: 'start', jobId: 'sbx-1', vmId: 'vm', at: 1 });
      await gates.exit.promise;
      writeEvent(res, { type: 'stdout', data: 'hi\n' });
      writeEvent(res, { type: 'exit', code: 0, signal: null, status: 'ok', cpuMs: 1, wallMs: 42, maxRssKb: 3 });
      res.end();
    });
    cleanups.push(() => (gates.start.resolve(), gates.exit.resolve()));
    const api = trpcClient(gw.url);
    const { roomId } = await api.createRoom.mutate({});
    const a = join(gw, roomId);
    await a.synced();
    const statuses: string[] = [];
    a.doc.getArray<RoomRunRecord>(ROOM_DOC.runs).observe(() => statuses.push(runsOf(a.doc).at(-1)?.status ?? '?'));

    const { jobId } = await api.runCode.mutate({ roomId, files: [{ path: 'main.py', content: 'print("hi")' }], startedBy: 'ada' });
    await waitUntil(() => runsOf(a.doc).at(-1)?.status === 'queued', { what: 'queued' });
    gates.start.resolve();
    await waitUntil(() => runsOf(a.doc).at(-1)?.status === 'running', { what: 'running' });
    gates.exit.resolve();
    await waitUntil(() => runsOf(a.doc).at(-1)?.status === 'ok', { what: 'ok' });
    expect(statuses).toEqual(['queued', 'running', 'ok']);
    const record = roomRunRecordSchema.parse(runsOf(a.doc).at(-1));
    expect(record).toEqual({ jobId, startedBy: 'ada', startedAt: expect.any(Number) as number, status: 'ok', endedAt: expect.any(Number) as number, wallMs: 42, exitCode: 0 });
    expect(runsOf(a.doc)).toHaveLength(1);

    const late = join(gw, roomId);
    await late.synced();
    expect(runsOf(late.doc)).toEqual([record]);
  });
});

describe('collab endpoint (C1, C10)', () => {
  it('accepts only /collab, refuses foreign origins, and closes sockets with 4503 on shutdown', async () => {
    const gw = await gateway();
    const ws = gw.url.replace('http', 'ws');
    const status = (path: string, origin?: string): Promise<number> =>
      new Promise((resolve) => {
        const sock = new WebSocket(`${ws}${path}`, origin ? { origin } : {});
        sock.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        sock.on('open', () => (resolve(101), sock.close()));
        sock.on('error', () => undefined);
      });
    expect(await status('/collab/room')).toBe(404);
    expect(await status('/collab', 'http://evil.test')).toBe(403);
    expect(await status('/collab', 'http://localhost:5173')).toBe(101);
    expect(await status('/collab', gw.url)).toBe(101);
    const a = join(gw, 'room1');
    await a.synced();
    let stopping: Promise<void> | undefined;
    const closed = new Promise<number>((resolve) => {
      const sock = new WebSocket(`${ws}/collab`);
      sock.on('open', () => void (stopping = gw.close()));
      sock.on('close', (code) => resolve(code));
    });
    expect(await closed).toBe(4503);
    await stopping;
    expect(gw.collab.log.open).toBe(false);
    expect(gw.collab.loadedRooms).toBe(0);
  });
});

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
