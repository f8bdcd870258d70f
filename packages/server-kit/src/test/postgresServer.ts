/**
 * Debian's PostgreSQL, started by a test for itself: a fresh cluster
 * (`initdb`) in a temporary directory, listening only on a Unix socket in
 * that directory (no TCP). PostgreSQL refuses to run as root, so as root the
 * cluster belongs to Debian's `postgres` account and its programs run as that
 * account (`setpriv`). Installed by `scripts/setup.mjs --servers`.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnOwned, waitUntil } from './childProcess.js';
import type { OwnedProcess } from './childProcess.js';

const PG_ROOT = '/usr/lib/postgresql';
/** The superuser of test clusters. */
export const TEST_PG_USER = 'codecell';

/** A PostgreSQL a test started. */
export interface TestPostgres extends AsyncDisposable {
  /** The socket directory. */
  readonly socketDir: string;
  /** A DATABASE_URL for database `name` (make it with {@link TestPostgres.createDatabase}). */
  urlFor(name: string): string;
  /** Creates an empty database and returns its DATABASE_URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops it and removes the cluster. Safe to call twice. */
  stop(): Promise<void>;
}

/** The newest installed PostgreSQL's `bin` directory. */
export function postgresBinDir(): string {
  const versions = existsSync(PG_ROOT) ? readdirSync(PG_ROOT).filter((v) => /^\d+$/.test(v) && existsSync(join(PG_ROOT, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (newest === undefined) throw new Error(`no PostgreSQL under ${PG_ROOT}: run \`node scripts/setup.mjs --servers\` (installs Debian's postgresql)`);
  return join(PG_ROOT, newest, 'bin');
}

/** Starts a fresh cluster. */
export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  const dir = await mkdtemp(join(tmpdir(), 'codecell-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  // As root: run every PostgreSQL program as `postgres`, which owns the directory.
  const wrap = (cmd: string, args: string[]): [string, string[]] => (asRoot ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', cmd, ...args]] : [cmd, args]);
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const run = (cmd: string, args: string[]): void => {
    const [c, a] = wrap(join(bin, cmd), args);
    execFileSync(c, a, { stdio: ['ignore', 'pipe', 'pipe'] });
  };
  try {
    run('initdb', ['-D', data, '-U', TEST_PG_USER, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
  }
  const [cmd, args] = wrap(join(bin, 'postgres'), [
    '-D', data,
    '-k', dir,
    '-c', "listen_addresses=",
    '-c', 'fsync=off',
    '-c', 'max_connections=200',
    '-c', 'shared_buffers=32MB',
  ]);
  const proc: OwnedProcess = spawnOwned(cmd, args);
  const isReady = async (): Promise<boolean> => {
    try {
      const [c, a] = wrap(join(bin, 'pg_isready'), ['-h', dir, '-U', TEST_PG_USER, '-q']);
      execFileSync(c, a, { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  try {
    await waitUntil(isReady, { what: 'postgres', timeoutMs: 30_000, proc });
  } catch (err) {
    await proc.stop({ signal: 'SIGKILL' });
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const urlFor = (name: string): string => `postgresql://${TEST_PG_USER}@localhost/${encodeURIComponent(name)}?host=${encodeURIComponent(dir)}`;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // SIGINT: PostgreSQL's fast shutdown (disconnects clients).
    await proc.stop({ signal: 'SIGINT' });
    await rm(dir, { recursive: true, force: true });
  };
  return {
    socketDir: dir,
    urlFor,
    createDatabase: async (name) => {
      run('createdb', ['-h', dir, '-U', TEST_PG_USER, name]);
      return urlFor(name);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
