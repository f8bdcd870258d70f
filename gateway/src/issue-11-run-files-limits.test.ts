/**
 * Issue 11: files a run wrote are held to the room's storage caps like any
 * edit, although the gateway writes them itself (no collab hook sees that
 * write): MAX_ROOM_BYTES for every room, and in hosted mode the owner's
 * storage quota (QUOTA_STORAGE_MB). A file past either is refused, named with
 * the limit in the run's record, and the room keeps what fitted. The quota is
 * asked through the extensions' `beforeRoomWrite` hook, which others can use.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { CodeCellError, ROOM_DOC, roomRunRecordSchema } from '@codecell/protocol';
import type { RoomRunRecord } from '@codecell/protocol';
import type * as Y from 'yjs';
import type { GatewayExtension } from './extensions.js';
import type { GatewayOverrides } from './server.js';
import { trpcClient } from './test/clients.js';
import { joinRoom, waitUntil } from './test/collabClients.js';
import { startNdjson, writeEvent } from './test/fakeSandboxServer.js';
import type { FakeHandler } from './test/fakeSandboxServer.js';
import { createAdmin, startHosted } from './test/hosted.js';
import { TestGateways } from './test/testGateway.js';

const gateways = new TestGateways();
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await gateways.cleanup();
});

const KIB = 1024;

/** A sandbox whose run writes `a.bin` and then `b.bin`, each `bytes` of random bytes, then exits. */
const writesTwo = (bytes: number): FakeHandler => {
  const [a, b] = [randomBytes(bytes), randomBytes(bytes)];
  return (req, res) => {
    if (req.path !== '/run') return void res.writeHead(202).end('{}');
    startNdjson(res, 'sbx');
    writeEvent(res, { type: 'start', jobId: 'sbx', vmId: 'vm', at: 1 });
    for (const [path, content] of [['a.bin', a], ['b.bin', b]] as const) {
      writeEvent(res, { type: 'file', path, size: content.length, encoding: 'base64', content: content.toString('base64'), truncated: false });
    }
    writeEvent(res, { type: 'exit', code: 0, signal: null, status: 'ok', cpuMs: 1, wallMs: 1, maxRssKb: 1 });
    res.end();
  };
};

/** Waits for the room's newest run to end and returns its record. */
async function endedRun(doc: Y.Doc): Promise<RoomRunRecord> {
  const runs = () => doc.getArray<RoomRunRecord>(ROOM_DOC.runs).toArray();
  await waitUntil(() => runs().at(-1)?.status === 'ok', { what: 'the run to end' });
  return roomRunRecordSchema.parse(runs().at(-1));
}

/** A hosted gateway, its admin's room and the record of one run there. */
async function hostedRun(o: { env?: Record<string, string>; handler: FakeHandler; overrides?: GatewayOverrides }) {
  const h = await startHosted(o);
  cleanups.push(() => h.close());
  const ada = await createAdmin(h.gw);
  const { roomId } = await ada.trpc.createRoom.mutate({});
  const client = ada.join(roomId);
  cleanups.push(() => client.destroy());
  await client.synced();
  await ada.trpc.runCode.mutate({ roomId, files: [{ path: 'main.py', content: 'print(1)' }] });
  return { ada, roomId, doc: client.doc, record: await endedRun(client.doc) };
}

describe('issue 11: files a run wrote count against the room storage caps', () => {
  it('MAX_ROOM_BYTES: the file that would grow the room past it is refused naming the limit; the one that fitted stays', async () => {
    const { gw } = await gateways.start({ handler: writesTwo(40 * KIB), env: { MAX_ROOM_BYTES: String(64 * KIB), MAX_FILE_BYTES: String(48 * KIB) } });
    const api = trpcClient(gw.url);
    const { roomId } = await api.createRoom.mutate({});
    const ada = joinRoom(gw.url, roomId);
    gateways.defer(() => ada.destroy());
    await ada.synced();
    await api.runCode.mutate({ roomId, files: [{ path: 'main.py', content: 'print(1)' }] });
    const record = await endedRun(ada.doc);
    expect(record.files).toEqual([
      { path: 'a.bin', size: 40 * KIB, status: 'written', message: null },
      { path: 'b.bin', size: 40 * KIB, status: 'refused', message: 'the room would grow past MAX_ROOM_BYTES (64.0 KiB)' },
    ]);
    const files = ada.doc.getMap<unknown>(ROOM_DOC.files);
    expect((files.get('a.bin') as Uint8Array).byteLength).toBe(40 * KIB);
    expect(files.has('b.bin')).toBe(false);
  });

  it("hosted: the file that would take the owner's rooms past QUOTA_STORAGE_MB is refused with the quota; the room keeps what fitted", async () => {
    const { ada, doc, record } = await hostedRun({ env: { QUOTA_STORAGE_MB: '1', MAX_ROOM_BYTES: String(8 * 1024 * KIB), MAX_FILE_BYTES: String(2 * 1024 * KIB) }, handler: writesTwo(600 * KIB) });
    expect(record.files?.map((f) => [f.path, f.status])).toEqual([
      ['a.bin', 'written'],
      ['b.bin', 'refused'],
    ]);
    expect(record.files?.[1]?.message).toMatch(/^quota storage_bytes reached: .*QUOTA_STORAGE_MB=1/);
    const files = doc.getMap<unknown>(ROOM_DOC.files);
    expect((files.get('a.bin') as Uint8Array).byteLength).toBe(600 * KIB);
    expect(files.has('b.bin')).toBe(false);
    const storage = (await ada.trpc.quotas.mine.query()).find((q) => q.quota === 'storage_bytes');
    expect(storage?.used).toBeGreaterThan(600 * KIB);
    expect(storage?.used).toBeLessThanOrEqual(1024 * KIB);
  });

  it("an extension's beforeRoomWrite sees each file's room and bytes, and its refusal is that file's reason", async () => {
    const seen: Array<[string, number]> = [];
    const oneFile: GatewayExtension = {
      extensionName: 'one-file-per-run',
      beforeRoomWrite: async ({ roomId, bytes }) => {
        seen.push([roomId, bytes]);
        if (seen.length > 1) throw new CodeCellError('forbidden', 'one file per run on this gateway');
      },
    };
    const { roomId, record } = await hostedRun({ handler: writesTwo(KIB), overrides: { extensions: [oneFile] } });
    expect(record.files).toEqual([
      { path: 'a.bin', size: KIB, status: 'written', message: null },
      { path: 'b.bin', size: KIB, status: 'refused', message: 'one file per run on this gateway' },
    ]);
    expect(seen).toEqual([
      [roomId, KIB],
      [roomId, KIB],
    ]);
  });
});
