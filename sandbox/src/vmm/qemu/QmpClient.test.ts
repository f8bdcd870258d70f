import { createServer, connect, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { QmpClient } from './QmpClient.js';

/** A QMP server on a Unix socket whose behaviour each test scripts. */
async function qmpServer(onConnection: (s: Socket) => void): Promise<{ path: string; server: Server; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'qmp-'));
  const path = join(dir, 'qmp.sock');
  const server = createServer(onConnection);
  await new Promise<void>((r) => server.listen(path, r));
  return { path, server, dir };
}

async function connectTo(path: string): Promise<Socket> {
  const sock = connect(path);
  await new Promise<void>((r, j) => sock.once('connect', r).once('error', j));
  return sock;
}

describe('QmpClient', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanup.splice(0)) c();
  });

  it('negotiates after the greeting and runs commands', async () => {
    const srv = await qmpServer((s) => {
      s.write('{"QMP": {"version": {}}}\n');
      s.on('data', (d) => {
        for (const line of d.toString().split('\n').filter(Boolean)) {
          const cmd = JSON.parse(line) as { execute: string };
          s.write(cmd.execute === 'query-status' ? '{"return": {"status": "running"}}\n' : '{"return": {}}\n');
        }
      });
    });
    cleanup.push(() => srv.server.close(), () => rmSync(srv.dir, { recursive: true, force: true }));
    const client = new QmpClient(await connectTo(srv.path));
    await client.init();
    await expect(client.execute('query-status')).resolves.toEqual({ status: 'running' });
    client.close();
  });

  // A QEMU killed between accepting the QMP connection and greeting used to
  // leave init() waiting forever, and with it the pool's dispose.
  it('rejects init when QEMU closes the socket before its greeting', async () => {
    const srv = await qmpServer((s) => s.destroy());
    cleanup.push(() => srv.server.close(), () => rmSync(srv.dir, { recursive: true, force: true }));
    const client = new QmpClient(await connectTo(srv.path));
    await expect(client.init()).rejects.toThrow(/QMP greeting.*closed/);
  });

  it('rejects init when no greeting comes in time', async () => {
    const srv = await qmpServer(() => undefined);
    cleanup.push(() => srv.server.close(), () => rmSync(srv.dir, { recursive: true, force: true }));
    const sock = await connectTo(srv.path);
    const client = new QmpClient(sock, { greetingTimeoutMs: 50 });
    await expect(client.init()).rejects.toThrow(/no QMP greeting in 50 ms/);
    expect(sock.destroyed).toBe(true);
  });
});
