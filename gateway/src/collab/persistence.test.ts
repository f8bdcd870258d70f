import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ROOM_DOC } from '@codecell/protocol';
import type { RoomRunRecord } from '@codecell/protocol';
import { loadConfig } from '../config.js';
import { silentLogger } from '@codecell/server-kit';
import { createGateway } from '../server.js';
import type { Gateway } from '../server.js';
import { trpcClient } from '../test/clients.js';
import { joinRoom, waitUntil } from '../test/collabClients.js';
import type { RoomClient } from '../test/collabClients.js';
import { startFakeSandboxServer, startNdjson, writeEvent } from '../test/fakeSandboxServer.js';
import { startGatewayProcess } from '../test/gatewayProcess.js';
import { RoomStore } from './RoomStore.js';
import { STARTER_ENTRY, STARTER_MAIN_PY } from './roomDoc.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDb(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-collab-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'nested', 'collab.sqlite');
}

function join_(url: string, roomId: string): RoomClient {
  const client = joinRoom(url, roomId);
  cleanups.push(() => client.destroy());
  return client;
}

const files = (c: RoomClient): Y.Map<Y.Text> => c.doc.getMap<Y.Text>(ROOM_DOC.files);

/** Makes 40 small acknowledged edits and a new file; returns the expected content. */
async function editAndWait(c: RoomClient): Promise<{ main: string; util: string }> {
  const main = files(c).get(STARTER_ENTRY) as Y.Text;
  for (let i = 0; i < 40; i++) {
    main.insert(main.length, `print(${i})\n`);
    if (i % 10 === 9) await c.acknowledged();
  }
  files(c).set('util.py', new Y.Text('X = 1\n'));
  await c.acknowledged();
  return { main: main.toJSON(), util: 'X = 1\n' };
}

describe('room persistence (SQLite)', () => {
  it('C9 C10: a new gateway on the same COLLAB_DB has every edit, file and run record after a graceful stop', async () => {
    const db = await tempDb();
    const fake = await startFakeSandboxServer((req, res) => {
      if (req.path !== '/run') return void res.writeHead(202).end('{}');
      startNdjson(res, 'sbx-1');
      writeEvent(res, { type: 'start', jobId: 'sbx-1', vmId: 'vm', at: 1 });
      writeEvent(res, { type: 'exit', code: 3, signal: null, status: 'runtime_error', cpuMs: 1, wallMs: 7, maxRssKb: 3 });
      res.end();
    });
    cleanups.push(() => fake.close());
    const start = async (): Promise<Gateway> => {
      const gw = await createGateway(loadConfig({ PORT: '0', SANDBOX_ADDR: fake.url, COLLAB_DB: db }), silentLogger);
      cleanups.push(() => gw.close());
      return gw;
    };

    const first = await start();
    const { roomId } = await trpcClient(first.url).createRoom.mutate({ title: 'Kept' });
    const a = join_(first.url, roomId);
    await a.synced();
    const expected = await editAndWait(a);
    const { jobId } = await trpcClient(first.url).runCode.mutate({ roomId, files: [{ path: 'main.py', content: expected.main }] });
    await waitUntil(() => a.doc.getArray<RoomRunRecord>(ROOM_DOC.runs).toArray().at(-1)?.status === 'runtime_error', { what: 'the run record' });
    a.destroy();
    await first.close();

    const second = await start();
    expect(await trpcClient(second.url).getRoom.query({ roomId })).toMatchObject({ exists: true, title: 'Kept', files: ['main.py', 'util.py'] });
    const b = join_(second.url, roomId);
    await b.synced();
    expect(files(b).get(STARTER_ENTRY)?.toJSON()).toBe(expected.main);
    expect(files(b).get('util.py')?.toJSON()).toBe(expected.util);
    expect(b.doc.getArray<RoomRunRecord>(ROOM_DOC.runs).toArray()).toEqual([
      { jobId, startedBy: null, startedAt: expect.any(Number) as number, status: 'runtime_error', endedAt: expect.any(Number) as number, wallMs: 7, exitCode: 3 },
    ]);
    // Unloading compacted the room: one merged update is left.
    const store = new RoomStore(db);
    cleanups.push(() => store.close());
    expect(store.updateCount(roomId)).toBe(1);
  });

  it('C6 C10: ends the room records of runs cut short by a graceful stop', async () => {
    const db = await tempDb();
    const fake = await startFakeSandboxServer((req, res) => {
      if (req.path !== '/run') return void res.writeHead(202).end('{}');
      startNdjson(res, 'sbx-1');
      writeEvent(res, { type: 'start', jobId: 'sbx-1', vmId: 'vm', at: 1 }); // and never exits
    });
    cleanups.push(() => fake.close());
    const gw = await createGateway(loadConfig({ PORT: '0', SANDBOX_ADDR: fake.url, COLLAB_DB: db }), silentLogger, { sandboxSlots: 1 });
    cleanups.push(() => gw.close());
    const api = trpcClient(gw.url);
    const { roomId } = await api.createRoom.mutate({});
    const a = join_(gw.url, roomId);
    await a.synced();
    const runsOf = (): RoomRunRecord[] => a.doc.getArray<RoomRunRecord>(ROOM_DOC.runs).toArray();
    await api.runCode.mutate({ roomId, files: [{ path: 'main.py', content: '' }] });
    await api.runCode.mutate({ roomId, files: [{ path: 'main.py', content: '' }] });
    await waitUntil(() => runsOf().map((r) => r.status).join() === 'running,queued', { what: 'one running, one queued' });
    await gw.close();
    const store = new RoomStore(db);
    cleanups.push(() => store.close());
    const doc = new Y.Doc();
    Y.applyUpdate(doc, Y.mergeUpdates(store.loadUpdates(roomId)));
    expect(doc.getArray<RoomRunRecord>(ROOM_DOC.runs).toArray().map((r) => r.status)).toEqual(['sandbox_unavailable', 'killed']);
  });

  it('C9 C6: loses nothing acknowledged when the gateway process is killed with SIGKILL, and ends its runs on restart', async () => {
    const db = await tempDb();
    const fake = await startFakeSandboxServer((req, res) => {
      if (req.path !== '/run') return void res.writeHead(202).end('{}');
      startNdjson(res, 'sbx-1');
      writeEvent(res, { type: 'start', jobId: 'sbx-1', vmId: 'vm', at: 1 }); // and never exits
    });
    cleanups.push(() => fake.close());
    const first = await startGatewayProcess({ COLLAB_DB: db, SANDBOX_ADDR: fake.url });
    cleanups.push(() => first.kill('SIGKILL'));
    const { roomId } = await trpcClient(first.url).createRoom.mutate({});
    const a = join_(first.url, roomId);
    await a.synced();
    const { jobId } = await trpcClient(first.url).runCode.mutate({ roomId, files: [{ path: 'main.py', content: '' }] });
    await waitUntil(() => a.doc.getArray<RoomRunRecord>(ROOM_DOC.runs).toArray().at(-1)?.status === 'running', { what: 'the running record' });
    const expected = await editAndWait(a);
    // Acknowledged means stored: kill at once, with no chance to flush anything.
    expect(await first.kill('SIGKILL')).toBe('SIGKILL');
    a.destroy();

    const second = await startGatewayProcess({ COLLAB_DB: db });
    cleanups.push(() => second.kill('SIGKILL'));
    const b = join_(second.url, roomId);
    await b.synced();
    expect(files(b).get(STARTER_ENTRY)?.toJSON()).toBe(expected.main);
    expect(files(b).get('util.py')?.toJSON()).toBe(expected.util);
    expect(expected.main.startsWith(STARTER_MAIN_PY)).toBe(true);
    expect(b.doc.getArray<RoomRunRecord>(ROOM_DOC.runs).toArray()).toEqual([expect.objectContaining({ jobId, status: 'killed', endedAt: expect.any(Number) as number })]);
    expect(await second.kill('SIGTERM')).toBe(0);
  });
});
