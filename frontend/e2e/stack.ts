/**
 * The real stack for browser tests: the sandbox (QEMU microVMs), the gateway,
 * and the built frontend served by the gateway. Every process is started as
 * one PID (`node --import tsx`) and stopped by that PID.
 * @module
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FRONTEND_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = resolve(FRONTEND_DIR, '..');
/** Screenshots, logs and metrics (gitignored). */
export const RESULTS_DIR = join(FRONTEND_DIR, 'test-results');

/** First boot builds or restores the VM template; later starts are faster. */
const SANDBOX_READY_TIMEOUT_MS = 120_000;
const GATEWAY_READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolvePort(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** A child process owned by the test; `stop()` signals its PID only. */
export interface OwnedProcess {
  readonly name: string;
  readonly pid: number;
  /** Exit code or signal once the process has exited by itself, else null. */
  exitStatus(): string | null;
  readonly logFile: string;
  /** SIGTERM, then SIGKILL after a grace period; resolves once it exited. */
  stop(): Promise<void>;
  /** Sends `signal` now (by PID) and resolves once it exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

function startNode(name: string, entry: string, env: Record<string, string>): OwnedProcess {
  mkdirSync(join(RESULTS_DIR, 'logs'), { recursive: true });
  const logFile = join(RESULTS_DIR, 'logs', `${name}.log`);
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  const pid = child.pid;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let stopping: Promise<void> | null = null;
  const hasExited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  return {
    name,
    pid,
    logFile,
    exitStatus: () => (child.exitCode !== null ? `exit ${child.exitCode}` : child.signalCode),
    async kill(signal) {
      if (!hasExited()) process.kill(pid, signal);
      await exited;
      log.end();
    },
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        process.kill(pid, 'SIGTERM');
        const timer = setTimeout(() => {
          if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
        }, STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
        log.end();
      })();
      return stopping;
    },
  };
}

interface WaitOptions {
  readonly url: string;
  /** True when the JSON body says "ready". */
  readonly ok: (body: unknown) => boolean;
  readonly timeoutMs: number;
}

/** Polls `url` until `ok(body)`; fails at once if `proc` exits meanwhile. */
async function waitFor(proc: OwnedProcess, { url, ok, timeoutMs }: WaitOptions): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const exit = proc.exitStatus();
    if (exit !== null) {
      await new Promise((r) => setTimeout(r, 100)); // let the log flush
      const log = await readFile(proc.logFile, 'utf8').catch(() => '');
      throw new Error(`${proc.name} exited (${exit}) before it was ready:\n${log.slice(-2000)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const body: unknown = await res.json();
      if (ok(body)) return;
      last = JSON.stringify(body);
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${proc.name} not ready after ${timeoutMs} ms at ${url}: ${last}`);
}

/** Builds the frontend into `frontend/dist` (skipped with E2E_SKIP_BUILD=1). */
export function buildFrontend(): string {
  const dist = join(FRONTEND_DIR, 'dist');
  if (process.env['E2E_SKIP_BUILD'] === '1') return dist;
  const vite = join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  // vitest sets NODE_ENV=test, which would make Vite build a development bundle.
  const r = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
    cwd: FRONTEND_DIR,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  });
  if (r.status !== 0) throw new Error(`vite build failed (exit ${r.status ?? r.signal})`);
  return dist;
}

export interface Stack extends AsyncDisposable {
  /** The gateway's base URL; it serves the frontend at `/`. */
  readonly url: string;
  readonly processes: readonly OwnedProcess[];
  /** The gateway process running now. */
  readonly gateway: OwnedProcess;
  /** The rooms' SQLite file (a temp file, deleted at dispose): never ~/.cache. */
  readonly collabDb: string;
  /** Kills the gateway by PID with `signal` (default SIGKILL) and waits until it is gone. */
  killGateway(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the gateway again on the same port and COLLAB_DB; resolves once it is ready. */
  restartGateway(): Promise<void>;
}

export interface StackOptions {
  /** Built frontend served by the gateway. */
  readonly frontendDist: string;
  /** Extra gateway environment (RUN_TIMEOUT_MS…). */
  readonly gatewayEnv?: Record<string, string>;
}

/** Starts sandbox then gateway and waits until both are ready. Dispose stops both and deletes COLLAB_DB. */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const processes: OwnedProcess[] = [];
  const dbDir = await mkdtemp(join(tmpdir(), 'codecell-e2e-collab-'));
  const collabDb = join(dbDir, 'collab.sqlite');
  const stopAll = async (): Promise<void> => {
    for (const p of [...processes].reverse()) await p.stop();
    await rm(dbDir, { recursive: true, force: true });
  };
  try {
    const sandboxPort = await freePort();
    const sandbox = startNode('sandbox', 'sandbox/src/server/main.ts', {
      SANDBOX_PORT: String(sandboxPort),
      POOL_SIZE: '1',
      LOG_LEVEL: 'warn',
    });
    processes.push(sandbox);
    await waitFor(sandbox, {
      url: `http://127.0.0.1:${sandboxPort}/healthz`,
      ok: (b) => typeof b === 'object' && b !== null && (b as { ready?: unknown }).ready === true,
      timeoutMs: SANDBOX_READY_TIMEOUT_MS,
    });
    const gatewayPort = await freePort();
    let starts = 0;
    const launchGateway = async (): Promise<OwnedProcess> => {
      starts += 1;
      const gw = startNode(starts === 1 ? 'gateway' : `gateway-${starts}`, 'gateway/src/main.ts', {
        PORT: String(gatewayPort),
        SANDBOX_ADDR: `127.0.0.1:${sandboxPort}`,
        FRONTEND_DIST: opts.frontendDist,
        COLLAB_DB: collabDb,
        LOG_LEVEL: 'warn',
        ...opts.gatewayEnv,
      });
      processes.push(gw);
      await waitFor(gw, {
        url: `http://127.0.0.1:${gatewayPort}/healthz`,
        ok: (b) => typeof b === 'object' && b !== null && (b as { ok?: unknown }).ok === true,
        timeoutMs: GATEWAY_READY_TIMEOUT_MS,
      });
      return gw;
    };
    let gateway = await launchGateway();
    return {
      url: `http://127.0.0.1:${gatewayPort}`,
      processes,
      collabDb,
      get gateway() {
        return gateway;
      },
      killGateway: (signal = 'SIGKILL') => gateway.kill(signal),
      async restartGateway() {
        if (gateway.exitStatus() === null) throw new Error('the gateway is still running; kill it first');
        gateway = await launchGateway();
      },
      [Symbol.asyncDispose]: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
