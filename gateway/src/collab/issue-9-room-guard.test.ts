/**
 * Issue 9: one client could break a room for good. Each finding is tested
 * with a real Hocuspocus provider and/or a hostile raw client that speaks the
 * wire protocol itself (test/rawCollabClient.ts):
 * - updates with missing dependencies sat in `pendingStructs`, passed the size
 *   check, were compacted to SQLite, and the reloaded room was over
 *   MAX_ROOM_BYTES, refusing every edit;
 * - clients could write `runs` (only the gateway may);
 * - a file could be replaced by a non-text value;
 * - awareness could be flooded with thousands of states, or another
 *   participant's state overwritten.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ROOM_DOC, parseCollabReason } from '@codecell/protocol';
import type { RoomRunRecord } from '@codecell/protocol';
import { silentLogger } from '@codecell/server-kit';
import { loadConfig } from '../config.js';
import { createGateway } from '../server.js';
import type { Gateway } from '../server.js';
import { trpcClient } from '../test/clients.js';
import { joinRoom, waitUntil } from '../test/collabClients.js';
import type { RoomClient } from '../test/collabClients.js';
import { startFakeSandboxServer, startNdjson, writeEvent } from '../test/fakeSandboxServer.js';
import type { FakeHandler } from '../test/fakeSandboxServer.js';
import { connectRawCollab, encodeAwarenessStates } from '../test/rawCollabClient.js';
import type { RawCollabClient } from '../test/rawCollabClient.js';
import { STARTER_ENTRY } from './roomDoc.js';

const MIB = 1024 * 1024;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A sandbox whose runs print and exit at once. */
const quickRuns: FakeHandler = (req, res) => {
  if (req.path !== '/run') return void res.writeHead(202).end('{}');
  startNdjson(res, 'sbx');
  writeEvent(res, { type: 'start', jobId: 'sbx', vmId: 'vm', at: 1 });
  writeEvent(res, { type: 'exit', code: 0, signal: null, status: 'ok', cpuMs: 1, wallMs: 1, maxRssKb: 1 });
  res.end();
};

async function gateway(env: Record<string, string> = {}): Promise<Gateway> {
  const fake = await startFakeSandboxServer(quickRuns);
  cleanups.push(() => fake.close());
  const gw = await createGateway(loadConfig({ PORT: '0', SANDBOX_ADDR: fake.url, COLLAB_DB: ':memory:', ...env }), silentLogger);
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await gw.close();
  };
  cleanups.push(close);
  return Object.assign(Object.create(gw) as Gateway, { close });
}

function join_(gw: Gateway, roomId: string): RoomClient {
  const c = joinRoom(gw.url, roomId);
  cleanups.push(() => c.destroy());
  return c;
}

async function raw(gw: Gateway, roomId: string): Promise<RawCollabClient> {
  const c = await connectRawCollab(gw.url, roomId);
  cleanups.push(() => c.close());
  return c;
}

/** The room's live document; a watcher (see {@link watch}) keeps it loaded while refused clients come and go. */
const serverDoc = (gw: Gateway, roomId: string): Y.Doc => {
  const doc = gw.collab.loadedDocument(roomId);
  if (!doc) throw new Error(`room ${roomId} is not loaded`);
  return doc;
};

/** A client that only watches, so the room stays loaded. */
async function watch(gw: Gateway, roomId: string): Promise<RoomClient> {
  const w = join_(gw, roomId);
  await w.synced();
  return w;
}
const runsOf = (doc: Y.Doc): RoomRunRecord[] => doc.getArray<RoomRunRecord>(ROOM_DOC.runs).toArray();
const fileText = (doc: Y.Doc, path = STARTER_ENTRY): string => doc.getMap<Y.Text>(ROOM_DOC.files).get(path)?.toJSON() ?? '';

/** A ~`bytes` update whose first change (a new file) is withheld: it depends on structs the server never gets. */
function orphanUpdate(bytes: number, clientID: number): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  const files = doc.getMap<Y.Text>(ROOM_DOC.files);
  files.set('orphan.py', new Y.Text('x'));
  const withheld = Y.encodeStateVector(doc);
  files.get('orphan.py')?.insert(1, 'y'.repeat(bytes));
  return Y.encodeStateAsUpdate(doc, withheld);
}

/** An update that only deletes, at a clock the server has never seen: a pending delete set. */
function orphanDeletion(clientID: number): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  const t = doc.getText('scratch');
  t.insert(0, 'abc');
  const before = Y.encodeStateVector(doc);
  t.delete(0, 3);
  return Y.encodeStateAsUpdate(doc, before);
}

const record = (jobId: string): RoomRunRecord => ({ jobId, startedBy: 'mallory', startedAt: 1, status: 'running', endedAt: null, wallMs: null, exitCode: null });

describe('issue 9: updates with missing dependencies', () => {
  it('refuses ten 1 MiB updates with missing dependencies; after a restart the room still loads and accepts edits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-issue9-room-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const env = { COLLAB_DB: join(dir, 'collab.sqlite') };
    const first = await gateway(env);
    const { roomId } = await trpcClient(first.url).createRoom.mutate({});
    const watcher = await watch(first, roomId);
    for (let i = 0; i < 10; i++) {
      const c = await raw(first, roomId);
      const outcome = await c.sendUpdate(orphanUpdate(MIB, 1000 + i));
      expect(outcome.accepted, `update ${i}`).toBe(false);
      if (!outcome.accepted) expect(parseCollabReason(outcome.reason)).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/depends on/) as string });
      c.close();
    }
    const pendingDs = await raw(first, roomId);
    expect((await pendingDs.sendUpdate(orphanDeletion(2000))).accepted).toBe(false);
    const doc = serverDoc(first, roomId);
    expect(doc.store.pendingStructs).toBeNull();
    expect(doc.store.pendingDs).toBeNull();
    // A real edit, so the room has a log to compact when the gateway stops.
    const ada = join_(first, roomId);
    await ada.synced();
    ada.doc.getMap<Y.Text>(ROOM_DOC.files).get(STARTER_ENTRY)?.insert(0, '# before restart\n');
    await ada.acknowledged();
    ada.destroy();
    watcher.destroy();
    await first.close();

    const second = await gateway(env);
    expect((await second.collab.log.loadUpdates(roomId)).reduce((n, u) => n + u.byteLength, 0)).toBeLessThan(MIB);
    const bob = join_(second, roomId);
    await bob.synced();
    expect(fileText(bob.doc)).toMatch(/^# before restart\n/);
    bob.doc.getMap<Y.Text>(ROOM_DOC.files).get(STARTER_ENTRY)?.insert(0, '# after restart\n');
    await bob.acknowledged();
    expect(bob.closes).toEqual([]);
    expect(fileText(serverDoc(second, roomId))).toMatch(/^# after restart\n# before restart\n/);
  });

  it('still accepts what real clients send: a full resync (step 2) from a client with history', async () => {
    const gw = await gateway();
    const { roomId } = await trpcClient(gw.url).createRoom.mutate({});
    const a = join_(gw, roomId);
    await a.synced();
    const files = a.doc.getMap<Y.Text>(ROOM_DOC.files);
    files.set('a.py', new Y.Text('1'));
    files.get(STARTER_ENTRY)?.delete(0, 10);
    files.delete('a.py');
    await a.acknowledged();
    await trpcClient(gw.url).runCode.mutate({ roomId, files: [{ path: 'main.py', content: '' }] });
    await waitUntil(() => runsOf(a.doc).at(-1)?.status === 'ok', { what: 'the run record' });
    // Everything a has, sent again as a sync step 2: its whole delete set, including the gateway's own run deletions.
    const c = await raw(gw, roomId);
    expect(await c.sendUpdate(Y.encodeStateAsUpdate(a.doc), { kind: 'step2' })).toEqual({ accepted: true });
  });
});

describe('issue 9: only the gateway writes runs', () => {
  it('refuses a client push, insert and delete in runs (provider and raw update); the gateway still records runs', async () => {
    const gw = await gateway();
    const api = trpcClient(gw.url);
    const { roomId } = await api.createRoom.mutate({});
    await watch(gw, roomId);
    await api.runCode.mutate({ roomId, files: [{ path: 'main.py', content: '' }] });
    const a = join_(gw, roomId);
    await a.synced();
    await waitUntil(() => runsOf(a.doc).at(-1)?.status === 'ok', { what: 'the first run record' });
    const recorded = runsOf(serverDoc(gw, roomId));
    expect(recorded).toHaveLength(1);

    a.doc.getArray<RoomRunRecord>(ROOM_DOC.runs).push([record('evil-push')]);
    await waitUntil(() => a.closes.length > 0, { what: 'the refusal of a push' });
    expect(parseCollabReason(a.closes[0] ?? '')).toMatchObject({ code: 'forbidden', message: expect.stringMatching(/only the gateway writes "runs"/) as string });

    // Inserted before the gateway's record: no parent on the wire, only a right origin.
    const b = join_(gw, roomId);
    await b.synced();
    b.doc.getArray<RoomRunRecord>(ROOM_DOC.runs).insert(0, [record('evil-insert')]);
    await waitUntil(() => b.closes.length > 0, { what: 'the refusal of an insert' });
    expect(parseCollabReason(b.closes[0] ?? '')?.code).toBe('forbidden');

    const c = join_(gw, roomId);
    await c.synced();
    c.doc.getArray<RoomRunRecord>(ROOM_DOC.runs).delete(0, 1);
    await waitUntil(() => c.closes.length > 0, { what: 'the refusal of a delete' });
    expect(parseCollabReason(c.closes[0] ?? '')?.code).toBe('forbidden');

    // The same as raw updates.
    const mirror = new Y.Doc();
    Y.applyUpdate(mirror, Y.encodeStateAsUpdate(serverDoc(gw, roomId)));
    const before = Y.encodeStateVector(mirror);
    mirror.getArray(ROOM_DOC.runs).delete(0, 1);
    const rawDelete = await raw(gw, roomId);
    expect(await rawDelete.sendUpdate(Y.diffUpdate(Y.encodeStateAsUpdate(mirror), before))).toMatchObject({ accepted: false, reason: expect.stringMatching(/^forbidden: /) as string });
    const evil = new Y.Doc();
    evil.getArray(ROOM_DOC.runs).push([record('evil-raw')]);
    const rawPush = await raw(gw, roomId);
    expect(await rawPush.sendUpdate(Y.encodeStateAsUpdate(evil))).toMatchObject({ accepted: false, reason: expect.stringMatching(/^forbidden: /) as string });

    expect(runsOf(serverDoc(gw, roomId))).toEqual(recorded);
    // The gateway's own writes (a direct connection) keep working.
    await api.runCode.mutate({ roomId, files: [{ path: 'main.py', content: '' }] });
    const d = join_(gw, roomId);
    await d.synced();
    await waitUntil(() => runsOf(d.doc).length === 2 && runsOf(d.doc).at(-1)?.status === 'ok', { what: 'the second run record' });
  });
});

describe('issue 9: files stay text', () => {
  it('refuses replacing a file with a number, a map or an embedded array; text edits and deletes still pass', async () => {
    const gw = await gateway();
    const { roomId } = await trpcClient(gw.url).createRoom.mutate({});
    await watch(gw, roomId);
    const values: Array<[string, unknown]> = [['a number', 42], ['a Y.Map', new Y.Map()], ['a Y.Array', new Y.Array()], ['a plain string', 'plain string']];
    for (const [what, bad] of values) {
      const c = join_(gw, roomId);
      await c.synced();
      (c.doc.getMap<unknown>(ROOM_DOC.files)).set(STARTER_ENTRY, bad);
      await waitUntil(() => c.closes.length > 0, { what: `the refusal of ${what}` });
      expect(parseCollabReason(c.closes[0] ?? '')).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/must be a Y.Text/) as string });
    }
    expect(serverDoc(gw, roomId).getMap(ROOM_DOC.files).get(STARTER_ENTRY)).toBeInstanceOf(Y.Text);
    const ok = join_(gw, roomId);
    await ok.synced();
    const files = ok.doc.getMap<Y.Text>(ROOM_DOC.files);
    files.set(STARTER_ENTRY, new Y.Text('replaced by text is fine'));
    files.set('b.py', new Y.Text('b'));
    files.delete('b.py');
    await ok.acknowledged();
    expect(ok.closes).toEqual([]);
    expect(fileText(serverDoc(gw, roomId))).toBe('replaced by text is fine');
  });
});

describe('issue 9: awareness', () => {
  async function room() {
    const gw = await gateway();
    const { roomId } = await trpcClient(gw.url).createRoom.mutate({});
    const ada = join_(gw, roomId);
    const bob = join_(gw, roomId);
    await Promise.all([ada.synced(), bob.synced()]);
    ada.provider.setAwarenessField('user', { name: 'Ada', color: '#ff8800' });
    bob.provider.setAwarenessField('user', { name: 'Bob', color: '#0088ff' });
    const states = (c: RoomClient) => [...(c.provider.awareness?.getStates().entries() ?? [])];
    const named = (c: RoomClient, name: string) => states(c).filter(([, s]) => (s['user'] as { name?: string } | undefined)?.name === name);
    await waitUntil(() => named(bob, 'Ada').length === 1 && named(ada, 'Bob').length === 1, { what: 'both users seeing each other' });
    return { gw, roomId, ada, bob, states, named };
  }

  it('drops a flood of 5,000 states in one message; the sender may still publish its own', async () => {
    const { gw, roomId, bob, states, named } = await room();
    const mallory = await raw(gw, roomId);
    const flood = Array.from({ length: 5000 }, (_, i) => ({ clientId: 1_000_000 + i, clock: 1, state: { user: { name: `bot${i}`, color: 'red' } } }));
    mallory.sendAwareness(encodeAwarenessStates(flood));
    mallory.sendAwareness(encodeAwarenessStates([{ clientId: 77, clock: 1, state: { user: { name: 'Mallory', color: 'red' } } }]));
    await waitUntil(() => named(bob, 'Mallory').length === 1, { what: "Mallory's own state at bob" });
    expect(named(bob, 'bot0')).toEqual([]);
    expect(states(bob).length).toBeLessThanOrEqual(4);
  });

  it("drops a state for another participant's clientID; that participant's state stays theirs", async () => {
    const { gw, roomId, ada, bob, named } = await room();
    const adaId = ada.provider.awareness?.clientID as number;
    const mallory = await raw(gw, roomId);
    mallory.sendAwareness(encodeAwarenessStates([{ clientId: adaId, clock: 1_000_000, state: { user: { name: 'Mallory as Ada', color: 'red' } } }]));
    mallory.sendAwareness(encodeAwarenessStates([{ clientId: 78, clock: 1, state: { user: { name: 'Mallory', color: 'red' } } }]));
    await waitUntil(() => named(bob, 'Mallory').length === 1, { what: "Mallory's own state at bob" });
    expect(named(bob, 'Mallory as Ada')).toEqual([]);
    expect(named(bob, 'Ada').map(([id]) => id)).toEqual([adaId]);
    // Once Mallory owns a clientID, a second one on the same connection is not allowed either.
    mallory.sendAwareness(encodeAwarenessStates([{ clientId: 79, clock: 1, state: { user: { name: 'Second Mallory', color: 'red' } } }]));
    ada.provider.setAwarenessField('user', { name: 'Ada again', color: '#ff8800' });
    await waitUntil(() => named(bob, 'Ada again').length === 1, { what: "Ada's next state at bob" });
    expect(named(bob, 'Second Mallory')).toEqual([]);
  });
});
