/**
 * Issue 9 (optional transport): the sandbox can listen on a Unix socket
 * (SANDBOX_SOCKET) that only its own user may connect to (mode 0600), so no
 * other local user, and no web page, can reach it at all. A socket left by a
 * sandbox that died is replaced; any other file at that path is refused.
 */
import { spawnSync } from 'node:child_process';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import { lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listenOnUnixSocket } from './unixListen.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'cc-issue9-sock-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function server(): Server {
  const s = createServer((_req, res) => res.end('pong'));
  cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
  return s;
}

function get(socketPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/healthz', host: 'localhost' }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString('utf8')));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('issue 9: SANDBOX_SOCKET', () => {
  it('listens on a socket only its user may use (0600)', async () => {
    const path = join(dir(), 'sandbox.sock');
    await listenOnUnixSocket(server(), path);
    const st = lstatSync(path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(await get(path)).toBe('pong');
  });

  it('replaces a socket a dead sandbox left, and refuses to replace anything else', async () => {
    const d = dir();
    const stale = join(d, 'stale.sock');
    // A process that dies (SIGKILL) while listening leaves its socket file behind.
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(lstatSync(stale).isSocket()).toBe(true);
    await listenOnUnixSocket(server(), stale);
    expect(await get(stale)).toBe('pong');

    const file = join(d, 'not-a-socket');
    writeFileSync(file, 'precious');
    await expect(listenOnUnixSocket(server(), file)).rejects.toThrow(/exists and is not a socket/);
    expect(readFileSync(file, 'utf8')).toBe('precious');
  });
});
