import { createServer, type Server, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AGENT_VSOCK_PORT, vsockConnect } from './vsockConnect.js';
import { FakeVsockMuxer, echoGuest } from '../../../test/fakeFirecracker/FakeVsockMuxer.js';
import { connectUnix } from '../../../test/fakeFirecracker/rawHttp.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (let fn = cleanups.pop(); fn; fn = cleanups.pop()) await fn();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fc-vsock-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function muxer(path: string): Promise<FakeVsockMuxer> {
  const mux = await FakeVsockMuxer.bind({ path, onGuestConnection: echoGuest });
  cleanups.push(() => mux.close());
  return mux;
}

/** A hand-rolled muxer that records what the host sent and replies with `reply` in one write. */
async function scriptedServer(
  path: string,
  reply: string,
): Promise<{ server: Server; firstChunks: string[] }> {
  const firstChunks: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('data', (chunk: Buffer) => {
      firstChunks.push(chunk.toString());
      socket.write(reply);
      socket.on('data', (more: Buffer) => socket.write(more));
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  cleanups.push(() => {
    sockets.forEach((s) => s.destroy());
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { server, firstChunks };
}

function readBytes(socket: Socket, count: number): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      if (text.length >= count) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
  });
}

describe('vsockConnect', () => {
  it('sends CONNECT in one write and keeps bytes that follow the OK line', async () => {
    const path = join(await tempDir(), 'v.sock');
    const { firstChunks } = await scriptedServer(path, 'OK 1073741824\nhello-from-guest');
    const socket = await vsockConnect({ udsPath: path, port: AGENT_VSOCK_PORT, timeoutMs: 1_000 });
    cleanups.push(() => void socket.destroy());
    expect(firstChunks).toEqual(['CONNECT 1024\n']);
    expect(await readBytes(socket, 'hello-from-guest'.length)).toBe('hello-from-guest');
    socket.write('echo');
    expect(await readBytes(socket, 4)).toBe('echo');
  });

  it('retries while the guest listener is not up yet', async () => {
    const path = join(await tempDir(), 'v.sock');
    const mux = await muxer(path);
    mux.setRunning(true);
    const timer = setTimeout(() => mux.listening.add(AGENT_VSOCK_PORT), 150);
    cleanups.push(() => clearTimeout(timer));
    const started = Date.now();
    const socket = await vsockConnect({ udsPath: path, port: AGENT_VSOCK_PORT, timeoutMs: 2_000 });
    cleanups.push(() => void socket.destroy());
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    socket.write('ping');
    expect(await readBytes(socket, 4)).toBe('ping');
  });

  it('retries while the socket file does not exist yet', async () => {
    const path = join(await tempDir(), 'v.sock');
    const late = setTimeout(() => {
      void muxer(path).then((mux) => {
        mux.listening.add(7);
        mux.setRunning(true);
      });
    }, 80);
    cleanups.push(() => clearTimeout(late));
    const socket = await vsockConnect({ udsPath: path, port: 7, timeoutMs: 2_000 });
    socket.destroy();
  });

  it('gives up at the deadline with vm_boot_failed', async () => {
    const path = join(await tempDir(), 'v.sock');
    (await muxer(path)).setRunning(true);
    const started = Date.now();
    const err = await vsockConnect({ udsPath: path, port: AGENT_VSOCK_PORT, timeoutMs: 200 }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'vm_boot_failed' });
    expect((err as Error).message).toMatch(
      /no guest listener on port 1024 .* within 200 ms .*connection closed without OK/,
    );
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('stops promptly when aborted', async () => {
    const path = join(await tempDir(), 'v.sock');
    (await muxer(path)).setRunning(true);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('boot cancelled')), 50);
    const started = Date.now();
    await expect(vsockConnect({ udsPath: path, port: 1024, signal: controller.signal })).rejects.toThrow(
      'boot cancelled',
    );
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('fails fast on a reply that is not OK', async () => {
    const path = join(await tempDir(), 'v.sock');
    await scriptedServer(path, 'NOPE\n');
    await expect(vsockConnect({ udsPath: path, port: 1024, timeoutMs: 5_000 })).rejects.toThrow(
      /unexpected reply "NOPE"/,
    );
  });
});

describe('FakeVsockMuxer (Firecracker muxer rules)', () => {
  it('drops a CONNECT split over two writes, and answers OK with increasing host ports', async () => {
    const path = join(await tempDir(), 'v.sock');
    const mux = await muxer(path);
    mux.listening.add(1024);
    mux.setRunning(true);

    const split = await connectUnix(path);
    const closed = new Promise<string>((resolve) => {
      let text = '';
      split.on('data', (c: Buffer) => (text += c.toString()));
      split.on('close', () => resolve(text));
    });
    split.write('CONN');
    setTimeout(() => split.write('ECT 1024\n'), 30);
    expect(await closed).toBe('');

    const a = await vsockConnect({ udsPath: path, port: 1024, timeoutMs: 500 });
    const b = await connectUnix(path);
    cleanups.push(
      () => void a.destroy(),
      () => void b.destroy(),
    );
    b.write('connect 1024\n'); // the keyword is case-insensitive
    expect(await readBytes(b, 'OK 1073741825\n'.length)).toBe('OK 1073741825\n');
  });
});
