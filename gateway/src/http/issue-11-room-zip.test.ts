/**
 * Issue 11: `GET /rooms/<roomId>/export.zip` gives the room's files byte for
 * byte to viewers and above (session cookie or API token) and to nobody else;
 * pages of other sites get nothing. `POST /rooms/<roomId>/import.zip` unpacks
 * a zip for editors, refusing bad entries by name.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ROOM_DOC, roomExportPath, roomImportPath, zipImportOutputSchema } from '@codecell/protocol';
import { unpackZip } from '../files/zipImport.js';
import { trpcClient } from '../test/clients.js';
import { joinRoom } from '../test/collabClients.js';
import { createAdmin, signUp, startHosted } from '../test/hosted.js';
import { rawZip } from '../test/rawZip.js';
import type { TestUser } from '../test/sessions.js';
import { testUser } from '../test/sessions.js';
import { TestGateways } from '../test/testGateway.js';

const gateways = new TestGateways();
afterEach(() => gateways.cleanup());

const limits = { maxFileBytes: 1 << 20, maxTotalBytes: 8 << 20, maxFiles: 100 };

async function exportZip(baseUrl: string, roomId: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${baseUrl}${roomExportPath(roomId)}`, { headers });
}

async function importZip(baseUrl: string, roomId: string, o: { body: Buffer; headers: Record<string, string> }): Promise<Response> {
  return fetch(`${baseUrl}${roomImportPath(roomId)}`, { method: 'POST', headers: { 'content-type': 'application/zip', ...o.headers }, body: o.body });
}

const codeOf = async (res: Response): Promise<string> => ((await res.json()) as { error: { code: string } }).error.code;

describe('issue 11: export.zip', () => {
  it('holds exactly the room files (text and binary), streamed as an attachment', async () => {
    const { gw } = await gateways.start();
    const { roomId } = await trpcClient(gw.url).createRoom.mutate({});
    const c = joinRoom(gw.url, roomId);
    gateways.defer(() => c.destroy());
    await c.synced();
    const bin = Uint8Array.from(randomBytes(300_000));
    c.doc.transact(() => {
      const files = c.doc.getMap<unknown>(ROOM_DOC.files);
      files.set('data/blob.bin', bin);
      files.set('lib/util.py', new Y.Text('def f():\n    return "ü"\n'));
    });
    await c.acknowledged();
    const res = await exportZip(gw.url, roomId);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${roomId}.zip"`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const files = await unpackZip(Buffer.from(await res.arrayBuffer()), limits);
    const room = c.doc.getMap<unknown>(ROOM_DOC.files);
    expect(files.map((f) => f.path)).toEqual([...room.keys()].sort());
    for (const f of files) {
      const v = room.get(f.path);
      expect(f.bytes.equals(v instanceof Y.Text ? Buffer.from(v.toJSON()) : Buffer.from(v as Uint8Array)), f.path).toBe(true);
    }
  });

  it('is not_found for a room that does not exist, and 405 for POST', async () => {
    const { gw } = await gateways.start();
    const res = await exportZip(gw.url, 'nowhere');
    expect([res.status, await codeOf(res)]).toEqual([404, 'not_found']);
    const { roomId } = await trpcClient(gw.url).createRoom.mutate({});
    const post = await fetch(`${gw.url}${roomExportPath(roomId)}`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });
});

describe('issue 11: export.zip and import.zip in hosted mode', () => {
  async function hostedRoom() {
    const h = await startHosted();
    gateways.defer(() => h.close());
    const owner = await createAdmin(h.gw);
    const { roomId } = await owner.trpc.createRoom.mutate({ title: 'Zips' });
    const member = async (role: 'viewer' | 'editor', name: string): Promise<TestUser> => {
      const u = await signUp(h.gw, owner, { username: name });
      const { token } = await owner.trpc.rooms.createLink.mutate({ roomId, role });
      await u.trpc.rooms.redeemLink.mutate({ token });
      return u;
    };
    return { gw: h.gw, owner, roomId, viewer: await member('viewer', 'vera'), editor: await member('editor', 'eddie'), stranger: await signUp(h.gw, owner, { username: 'stan' }) };
  }

  it('lets viewers and API tokens export; strangers get not_found, nobody unauthorized; other sites are refused', async () => {
    const { gw, owner, roomId, viewer, stranger } = await hostedRoom();
    expect((await exportZip(gw.url, roomId, viewer.headers())).status).toBe(200);
    const { token } = await owner.trpc.auth.createToken.mutate({ name: 'backup' });
    const program = testUser(gw.url, { bearer: token });
    const viaToken = await exportZip(gw.url, roomId, program.headers());
    expect(viaToken.status).toBe(200);
    expect((await unpackZip(Buffer.from(await viaToken.arrayBuffer()), limits)).map((f) => f.path)).toEqual(['main.py']);
    const strangers = await exportZip(gw.url, roomId, stranger.headers());
    expect([strangers.status, await codeOf(strangers)]).toEqual([404, 'not_found']);
    const anonymous = await exportZip(gw.url, roomId);
    expect([anonymous.status, await codeOf(anonymous)]).toEqual([401, 'unauthorized']);
    // A link or script on another site carries the viewer's cookie: refused.
    const linked = await exportZip(gw.url, roomId, { ...viewer.headers(), 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' });
    expect([linked.status, await codeOf(linked)]).toEqual([403, 'forbidden']);
    const fetched = await exportZip(gw.url, roomId, { ...viewer.headers(), origin: 'https://evil.example' });
    expect([fetched.status, await codeOf(fetched)]).toEqual([403, 'forbidden']);
    expect(fetched.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('unpacks a zip for editors only, refusing bad entries by name and non-zip content types', async () => {
    const { gw, roomId, viewer, editor } = await hostedRoom();
    const zip = rawZip([{ name: 'notes/a.txt', data: Buffer.from('hello') }, { name: 'img.bin', data: Buffer.from([0, 1, 2, 255]) }]);
    const ok = await importZip(gw.url, roomId, { body: zip, headers: editor.headers() });
    expect(ok.status).toBe(200);
    expect(zipImportOutputSchema.parse(await ok.json())).toEqual({
      files: [
        { path: 'notes/a.txt', content: 'hello', encoding: 'utf8' },
        { path: 'img.bin', content: 'AAEC/w==', encoding: 'base64' },
      ],
    });
    expect(await codeOf(await importZip(gw.url, roomId, { body: zip, headers: viewer.headers() }))).toBe('forbidden');
    const bad = await importZip(gw.url, roomId, { body: rawZip([{ name: '../../etc/cron.d/x', data: Buffer.from('x') }]), headers: editor.headers() });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { code: 'invalid_path', message: expect.stringMatching(/^zip entry "..\/..\/etc\/cron.d\/x" has a path a room cannot hold/) as string } });
    const form = await fetch(`${gw.url}${roomImportPath(roomId)}`, { method: 'POST', headers: { ...editor.headers(), 'content-type': 'multipart/form-data; boundary=x' }, body: zip });
    expect([form.status, await codeOf(form)]).toEqual([415, 'unsupported_media_type']);
    expect(await codeOf(await importZip(gw.url, roomId, { body: zip, headers: { ...editor.headers(), origin: 'https://evil.example' } }))).toBe('forbidden');
  });
});
