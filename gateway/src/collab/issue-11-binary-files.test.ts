/**
 * Issue 11: rooms hold binary files (`Uint8Array` values) up to MAX_FILE_BYTES
 * each and MAX_ROOM_BYTES in all. A client (provider or raw update) that
 * forges an oversized binary or a value that is neither text nor binary is
 * refused, and the room keeps what it had.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ROOM_DOC, parseCollabReason } from '@codecell/protocol';
import { trpcClient } from '../test/clients.js';
import { joinRoom, waitUntil } from '../test/collabClients.js';
import type { RoomClient } from '../test/collabClients.js';
import { connectRawCollab } from '../test/rawCollabClient.js';
import { TestGateways } from '../test/testGateway.js';
import type { Gateway } from '../server.js';

const gateways = new TestGateways();
afterEach(() => gateways.cleanup());

const KIB = 1024;

function join_(gw: Gateway, roomId: string): RoomClient {
  const c = joinRoom(gw.url, roomId);
  gateways.defer(() => c.destroy());
  return c;
}

async function room(env: Record<string, string> = {}) {
  const { gw } = await gateways.start({ env });
  const { roomId } = await trpcClient(gw.url).createRoom.mutate({});
  const watcher = join_(gw, roomId);
  await watcher.synced();
  const serverFiles = () => gw.collab.loadedDocument(roomId)?.getMap<unknown>(ROOM_DOC.files);
  return { gw, roomId, watcher, serverFiles };
}

describe('issue 11: binary files in rooms', () => {
  it('takes every byte value as a Uint8Array file and gives everyone the same bytes', async () => {
    const { gw, roomId, watcher, serverFiles } = await room();
    const bytes = Uint8Array.from([...Array.from({ length: 256 }, (_, i) => i), ...randomBytes(64 * KIB)]);
    const ada = join_(gw, roomId);
    await ada.synced();
    ada.doc.getMap<unknown>(ROOM_DOC.files).set('data/all.bin', bytes);
    await ada.acknowledged();
    expect(ada.closes).toEqual([]);
    await waitUntil(() => watcher.doc.getMap<unknown>(ROOM_DOC.files).has('data/all.bin'), { what: 'the file at the other client' });
    for (const got of [watcher.doc.getMap<unknown>(ROOM_DOC.files).get('data/all.bin'), serverFiles()?.get('data/all.bin')]) {
      expect(got).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(got as Uint8Array).equals(Buffer.from(bytes))).toBe(true);
    }
  });

  it('refuses a binary file over MAX_FILE_BYTES (provider and raw update), naming the limit', async () => {
    const { gw, roomId, serverFiles } = await room({ MAX_FILE_BYTES: String(16 * KIB) });
    const ok = join_(gw, roomId);
    await ok.synced();
    ok.doc.getMap<unknown>(ROOM_DOC.files).set('fits.bin', new Uint8Array(16 * KIB));
    await ok.acknowledged();
    expect(ok.closes).toEqual([]);

    const big = join_(gw, roomId);
    await big.synced();
    big.doc.getMap<unknown>(ROOM_DOC.files).set('big.bin', new Uint8Array(16 * KIB + 1));
    await waitUntil(() => big.closes.length > 0, { what: 'the refusal' });
    expect(parseCollabReason(big.closes[0] ?? '')).toEqual({ code: 'files_too_large', message: 'file "big.bin" is 16.0 KiB; the limit for a binary file is 16.0 KiB (MAX_FILE_BYTES)' });

    const forged = new Y.Doc();
    forged.getMap<unknown>(ROOM_DOC.files).set('forged.bin', Uint8Array.from(randomBytes(64 * KIB)));
    const raw = await connectRawCollab(gw.url, roomId);
    gateways.defer(() => raw.close());
    expect(await raw.sendUpdate(Y.encodeStateAsUpdate(forged))).toMatchObject({ accepted: false, reason: expect.stringMatching(/^files_too_large: file "forged.bin"/) as string });
    expect([...(serverFiles()?.keys() ?? [])].sort()).toEqual(['fits.bin', 'main.py']);
  });

  it('refuses values that are neither text nor binary, sent as raw updates (JSON, string, number, nested map)', async () => {
    const { gw, roomId, serverFiles } = await room();
    const forgeries: Array<[string, unknown]> = [['an object', { evil: true }], ['a string', 'text but not Y.Text'], ['a number', 7], ['a Y.Map', new Y.Map()], ['an array of bytes', [1, 2, 3]]];
    for (const [what, value] of forgeries) {
      const forged = new Y.Doc();
      forged.getMap<unknown>(ROOM_DOC.files).set('x.bin', value);
      const raw = await connectRawCollab(gw.url, roomId);
      gateways.defer(() => raw.close());
      const outcome = await raw.sendUpdate(Y.encodeStateAsUpdate(forged));
      expect(outcome, what).toMatchObject({ accepted: false, reason: expect.stringMatching(/^invalid_request: file "x.bin" must be a Y.Text \(text\) or a Uint8Array \(binary\)/) as string });
      raw.close();
    }
    expect(serverFiles()?.has('x.bin')).toBe(false);
  });

  it('counts binary files against MAX_ROOM_BYTES', async () => {
    const { gw, roomId } = await room({ MAX_ROOM_BYTES: String(64 * KIB), MAX_FILE_BYTES: String(48 * KIB) });
    const c = join_(gw, roomId);
    await c.synced();
    const files = c.doc.getMap<unknown>(ROOM_DOC.files);
    files.set('a.bin', Uint8Array.from(randomBytes(40 * KIB)));
    await c.acknowledged();
    files.set('b.bin', Uint8Array.from(randomBytes(40 * KIB)));
    await waitUntil(() => c.closes.length > 0, { what: 'the refusal' });
    expect(parseCollabReason(c.closes[0] ?? '')?.code).toBe('payload_too_large');
  });
});
