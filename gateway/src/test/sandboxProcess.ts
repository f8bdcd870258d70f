/**
 * Starts the real sandbox service as a child process for integration tests
 * (`node --import tsx sandbox/src/server/main.ts`, one PID we own), waits
 * until its warm pool is ready, and stops it by that PID.
 * @module
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { readSecretFile } from '@codecell/server-kit';
import { defaultSandboxTokenFile } from '../config.js';

const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** A running sandbox process. */
export interface SandboxProcess extends AsyncDisposable {
  readonly port: number;
  /** `http://127.0.0.1:<port>`, or `unix:<path>` with `socket`: what the gateway's SANDBOX_ADDR takes. */
  readonly url: string;
  readonly pid: number;
  /** The token file the sandbox wrote (or read) at start. */
  readonly tokenFile: string;
  /** The sandbox's token, for callers that talk to it directly (benchmarks). */
  token(): string;
  /** Last lines the sandbox wrote to stderr (for failure messages). */
  stderrTail(): string;
  /**
   * SIGKILL: no cleanup in the sandbox. Afterwards kills (by PID) any QEMU of
   * it that survived (a VM spawned at the moment of the kill can miss its
   * pdeathsig) and removes the cgroups and run directory it left.
   */
  crash(): Promise<void>;
  /** SIGTERM, then wait for exit (SIGKILL after `graceMs`). Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/**
 * Starts the sandbox on `port` (default: a free one), or on the Unix socket
 * `socket`, and waits for `ready: true`. It writes its token file (the
 * default one unless `env` names SANDBOX_TOKEN_FILE) before it listens.
 */
export async function startSandbox(o: { port?: number; socket?: string; readyTimeoutMs?: number; env?: Record<string, string>; onStderr?: (text: string) => void } = {}): Promise<SandboxProcess> {
  const port = o.port ?? (await freePort());
  // Our own run directory (snapshot memory, sockets), removed whatever happens to the process.
  const runDir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'gw-test-sandbox-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'sandbox/src/server/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      SANDBOX_PORT: String(port),
      SANDBOX_HOST: '127.0.0.1',
      SANDBOX_RUN_DIR: runDir,
      POOL_SIZE: '1',
      LOG_LEVEL: 'warn',
      ...(o.socket === undefined ? {} : { SANDBOX_SOCKET: o.socket }),
      ...o.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let tail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    tail = (tail + s).slice(-4000);
    o.onStderr?.(s);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = o.socket === undefined ? `http://127.0.0.1:${port}` : `unix:${o.socket}`;
  const stop = async (graceMs = 20_000): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    if (child.pid !== undefined) await removeSandboxLeftovers(child.pid);
    await rm(runDir, { recursive: true, force: true });
  };
  const tokenFile = o.env?.['SANDBOX_TOKEN_FILE'] ?? defaultSandboxTokenFile({ ...process.env, ...o.env });
  const proc: SandboxProcess = {
    port,
    url,
    pid: child.pid ?? -1,
    tokenFile,
    token: () => o.env?.['SANDBOX_TOKEN'] ?? readSecretFile(tokenFile),
    stderrTail: () => tail,
    crash: async () => {
      child.kill('SIGKILL');
      await exited;
      if (child.pid !== undefined) await removeSandboxLeftovers(child.pid);
      await rm(runDir, { recursive: true, force: true });
    },
    stop,
    [Symbol.asyncDispose]: () => stop(),
  };
  try {
    await waitReady(url, child, o.readyTimeoutMs ?? 120_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\nsandbox stderr:\n${tail}`);
  }
  return proc;
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the sandbox exited (${child.exitCode ?? child.signalCode}) before it was ready`);
    try {
      const body = JSON.parse(await getHealthz(url)) as { ready?: boolean };
      if (body.ready === true) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the sandbox at ${url} was not ready within ${timeoutMs} ms`);
}

/** `GET /healthz` (which needs no token) over TCP or the Unix socket. */
function getHealthz(url: string): Promise<string> {
  const u = url.startsWith('unix:') ? undefined : new URL(url);
  const target = u ? { host: u.hostname, port: Number(u.port) } : { socketPath: url.slice('unix:'.length), host: 'localhost' };
  return new Promise((resolve, reject) => {
    const req = request({ ...target, path: '/healthz', timeout: 2000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve(text));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * Cleans up after a sandbox process `pid` that is gone: SIGKILLs (by PID) the
 * processes still in its `codecell-sandbox-<pid>` cgroups, which can only be its
 * own QEMUs, then removes those cgroups (every controller, deepest first).
 * Nothing to do after a clean SIGTERM shutdown.
 */
export async function removeSandboxLeftovers(pid: number, timeoutMs = 10_000): Promise<void> {
  const name = `codecell-sandbox-${pid}`;
  const roots: string[] = [];
  for (const ctrl of await readdir(CGROUP_ROOT).catch(() => [] as string[])) {
    const candidates = [join(CGROUP_ROOT, ctrl, name), join(CGROUP_ROOT, name)];
    for (const c of candidates) if ((await readdir(c).catch(() => null)) !== null && !roots.includes(c)) roots.push(c);
  }
  for (const root of roots) for (const p of await procsIn(root)) killQuietly(p);
  const deadline = Date.now() + timeoutMs;
  for (const root of roots) {
    for (;;) {
      try {
        await rmdirTree(root);
        break;
      } catch (err) {
        // EBUSY while a killed QEMU is still being torn down by the kernel.
        if (Date.now() > deadline) throw new Error(`could not remove ${root}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}

async function rmdirTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => null);
  if (entries === null) return;
  for (const e of entries) if (e.isDirectory()) await rmdirTree(join(dir, e.name));
  await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** PIDs in a cgroup and its descendants. */
async function procsIn(dir: string): Promise<number[]> {
  const own = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  const pids = own.split('\n').filter((l) => l.trim() !== '').map(Number);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) pids.push(...(await procsIn(join(dir, e.name))));
  return pids;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
