/**
 * Issue 11 at the gateway: files a run of a room wrote go into the room for
 * everyone (bytes exactly, text edited in place), the run's record says what
 * became of each (written, unchanged, truncated, refused with the limit), the
 * stream carries the events without their content, and the sandbox is asked
 * to prune the room's workspace to the room's files.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ROOM_DOC, roomRunRecordSchema } from '@codecell/protocol';
import type { RoomRunRecord } from '@codecell/protocol';
import { openStream, trpcClient } from './test/clients.js';
import { joinRoom, waitUntil } from './test/collabClients.js';
import { startNdjson, writeEvent } from './test/fakeSandboxServer.js';
import type { FakeHandler } from './test/fakeSandboxServer.js';
import { TestGateways } from './test/testGateway.js';

const gateways = new TestGateways();
afterEach(() => gateways.cleanup());

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0, 255, 254]);
const file = (path: string, o: { content: string; encoding?: 'utf8' | 'base64'; size?: number; truncated?: boolean }) => ({
  type: 'file',
  path,
  size: o.size ?? Buffer.from(o.content, o.encoding === 'base64' ? 'base64' : 'utf8').length,
  encoding: o.encoding ?? 'utf8',
  content: o.content,
  truncated: o.truncated ?? false,
});

/** A sandbox whose run writes files, then exits. */
const writesFiles: FakeHandler = (req, res) => {
  if (req.path !== '/run') return void res.writeHead(202).end('{}');
  startNdjson(res, 'sbx');
  writeEvent(res, { type: 'start', jobId: 'sbx', vmId: 'vm', at: 1 });
  writeEvent(res, file('out/plot.png', { content: PNG.toString('base64'), encoding: 'base64' }));
  writeEvent(res, file('notes.txt', { content: 'written by the run\n' }));
  writeEvent(res, file('main.py', { content: "print('changed by the program')\n" }));
  writeEvent(res, file('same.txt', { content: 'same\n' }));
  writeEvent(res, file('huge.bin', { content: '', encoding: 'base64', size: 50_000_000, truncated: true }));
  writeEvent(res, file('big.bin', { content: Buffer.alloc(5000, 0).toString('base64'), encoding: 'base64' }));
  writeEvent(res, { type: 'exit', code: 0, signal: null, status: 'ok', cpuMs: 1, wallMs: 1, maxRssKb: 1 });
  res.end();
};

describe('issue 11: files a run wrote, in its room', () => {
  it('reach everyone byte for byte, listed in the run record; the stream carries them without content; the workspace is pruned', async () => {
    const { gw, fake } = await gateways.start({ handler: writesFiles, env: { MAX_FILE_BYTES: '4096' } });
    const api = trpcClient(gw.url);
    const { roomId } = await api.createRoom.mutate({});
    const ada = joinRoom(gw.url, roomId);
    gateways.defer(() => ada.destroy());
    await ada.synced();
    const files = ada.doc.getMap<unknown>(ROOM_DOC.files);
    files.set('same.txt', new Y.Text('same\n'));
    await ada.acknowledged();
    const mainText = files.get('main.py');
    const { jobId } = await api.runCode.mutate({ roomId, entry: 'main.py', files: [{ path: 'main.py', content: 'print(1)' }, { path: 'same.txt', content: 'same\n' }] });
    const stream = openStream(gw.url, jobId);
    gateways.defer(() => stream.ws.close());
    const runs = () => ada.doc.getArray<RoomRunRecord>(ROOM_DOC.runs).toArray();
    await waitUntil(() => runs().at(-1)?.status === 'ok', { what: 'the run to end' });

    expect(fake.requests.find((r) => r.path === '/run')?.body).toMatchObject({ sessionId: roomId, prune: true });
    expect(Buffer.from(files.get('out/plot.png') as Uint8Array).equals(PNG)).toBe(true);
    expect((files.get('notes.txt') as Y.Text).toJSON()).toBe('written by the run\n');
    // Edited in place: an editor bound to main.py keeps its Y.Text.
    expect(files.get('main.py')).toBe(mainText);
    expect((files.get('main.py') as Y.Text).toJSON()).toBe("print('changed by the program')\n");
    expect(files.has('huge.bin') || files.has('big.bin')).toBe(false);

    const record = roomRunRecordSchema.parse(runs().at(-1));
    expect(record.files).toEqual([
      { path: 'out/plot.png', size: PNG.length, status: 'written', message: null },
      { path: 'notes.txt', size: 19, status: 'written', message: null },
      { path: 'main.py', size: 32, status: 'written', message: null },
      { path: 'same.txt', size: 5, status: 'unchanged', message: null },
      { path: 'huge.bin', size: 50_000_000, status: 'truncated', message: expect.stringMatching(/over the sandbox's cap .*stays in the VM/) as string },
      { path: 'big.bin', size: 5000, status: 'refused', message: 'a binary file of 4.9 KiB is over MAX_FILE_BYTES (4.0 KiB)' },
    ]);

    await stream.waitFor((m) => m.type === 'end');
    const streamed = stream.messages.flatMap((m) => (m.type === 'event' && m.event.type === 'file' ? [m.event] : []));
    expect(streamed.map((e) => [e.path, e.content, e.size])).toEqual([
      ['out/plot.png', '', PNG.length],
      ['notes.txt', '', 19],
      ['main.py', '', 32],
      ['same.txt', '', 5],
      ['huge.bin', '', 50_000_000],
      ['big.bin', '', 5000],
    ]);
  });

  it('refuses a file where the room has a folder, and keeps listing files across status updates', async () => {
    const clash: FakeHandler = (req, res) => {
      if (req.path !== '/run') return void res.writeHead(202).end('{}');
      startNdjson(res, 'sbx');
      writeEvent(res, { type: 'start', jobId: 'sbx', vmId: 'vm', at: 1 });
      writeEvent(res, file('lib', { content: 'x' }));
      writeEvent(res, { type: 'exit', code: 0, signal: null, status: 'ok', cpuMs: 1, wallMs: 1, maxRssKb: 1 });
      res.end();
    };
    const { gw } = await gateways.start({ handler: clash });
    const api = trpcClient(gw.url);
    const { roomId } = await api.createRoom.mutate({});
    const c = joinRoom(gw.url, roomId);
    gateways.defer(() => c.destroy());
    await c.synced();
    c.doc.getMap<unknown>(ROOM_DOC.files).set('lib/a.py', new Y.Text(''));
    await c.acknowledged();
    await api.runCode.mutate({ roomId, files: [{ path: 'main.py', content: '' }] });
    const runs = () => c.doc.getArray<RoomRunRecord>(ROOM_DOC.runs).toArray();
    await waitUntil(() => runs().at(-1)?.status === 'ok', { what: 'the run to end' });
    expect(runs().at(-1)?.files).toEqual([{ path: 'lib', size: 1, status: 'refused', message: 'lib is a folder in the room' }]);
  });
});
