/**
 * Debian's `redis-server`, started by a test for itself: its own directory,
 * a Unix socket (no TCP port at all), append-only persistence with fsync on
 * every write (so a restart keeps every accepted command, as a production
 * Redis with `appendfsync always` would). Installed by `scripts/setup.mjs --servers`.
 * @module
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnOwned, waitUntil } from './childProcess.js';
import type { OwnedProcess } from './childProcess.js';

/** Where Debian puts the server. */
export const REDIS_SERVER_BIN = '/usr/bin/redis-server';

/** A Redis a test started. */
export interface TestRedis extends AsyncDisposable {
  /** `unix:/…/redis.sock`: what REDIS_URL takes. */
  readonly url: string;
  readonly socket: string;
  /** Its PID now (changes on restart). */
  pid(): number;
  /** Stops it (SIGTERM: it writes its data) and starts it again on the same socket and data. */
  restart(o?: { downMs?: number }): Promise<void>;
  /** SIGKILL, then start again from what is on disk. */
  crashAndRestart(o?: { downMs?: number }): Promise<void>;
  /** Stops it for good and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts a fresh Redis. */
export async function startTestRedis(): Promise<TestRedis> {
  if (!existsSync(REDIS_SERVER_BIN)) throw new Error(`${REDIS_SERVER_BIN} is missing: run \`node scripts/setup.mjs --servers\` (installs Debian's redis-server)`);
  const dir = await mkdtemp(join(tmpdir(), 'codecell-redis-'));
  const socket = join(dir, 'redis.sock');
  const args = [
    '--port', '0',
    '--unixsocket', socket,
    '--unixsocketperm', '700',
    '--dir', dir,
    '--appendonly', 'yes',
    '--appendfsync', 'always',
    '--save', '',
    '--daemonize', 'no',
    '--protected-mode', 'no',
    '--loglevel', 'warning',
  ];
  let proc: OwnedProcess | null = null;
  const launch = async (): Promise<void> => {
    const p = spawnOwned(REDIS_SERVER_BIN, args);
    proc = p;
    await waitUntil(() => ping(socket), { what: 'redis-server', timeoutMs: 15_000, proc: p });
  };
  await launch();
  let stopped = false;
  const pause = (ms: number | undefined) => new Promise((r) => setTimeout(r, ms ?? 0));
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await proc?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  return {
    url: `unix:${socket}`,
    socket,
    pid: () => proc?.child.pid ?? -1,
    restart: async (o = {}) => {
      await proc?.stop();
      await pause(o.downMs);
      await launch();
    },
    crashAndRestart: async (o = {}) => {
      await proc?.stop({ signal: 'SIGKILL' });
      await pause(o.downMs);
      await launch();
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** True when the server at `socket` answers PING with PONG (and is done loading its data). */
function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socket);
    let got = '';
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1_000, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('*1\r\n$4\r\nPING\r\n'));
    s.on('data', (d) => {
      got += d.toString('utf8');
      if (got.includes('\r\n')) done(got.startsWith('+PONG'));
    });
  });
}
