/**
 * Starts the real services as separate processes for benchmarks: the sandbox
 * (via the gateway's test helper) and the gateway, each on a free port.
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startSandbox } from '../gateway/src/test/sandboxProcess.js';
import type { SandboxProcess } from '../gateway/src/test/sandboxProcess.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Stack {
  readonly sandbox: SandboxProcess;
  readonly gatewayUrl: string;
  readonly gatewayPid: number;
  stop(): Promise<void>;
}

/** A gateway process of a benchmark. */
export interface GatewayChild {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Sandbox + gateway; `sandboxEnv` and `gatewayEnv` override their defaults. */
export async function startStack(o: { sandboxEnv?: Record<string, string>; gatewayEnv?: Record<string, string>; onSandboxStderr?: (text: string) => void } = {}): Promise<Stack> {
  const sandbox = await startSandbox({ env: { LOG_LEVEL: 'error', ...o.sandboxEnv }, ...(o.onSandboxStderr ? { onStderr: o.onSandboxStderr } : {}) });
  try {
    const gw = await startGateway({ sandboxAddr: `127.0.0.1:${sandbox.port}`, env: o.gatewayEnv ?? {} });
    const stop = async (): Promise<void> => {
      await gw.stop();
      await sandbox.stop();
    };
    return { sandbox, gatewayUrl: gw.url, gatewayPid: gw.pid, stop };
  } catch (err) {
    await sandbox.stop();
    throw err;
  }
}

/**
 * The gateway (`node --import tsx gateway/src/main.ts`, plus `nodeArgs`) in
 * front of the sandbox at `sandboxAddr`, with its rooms in a database file of
 * its own; resolves once its `/healthz` answers 200.
 */
export async function startGateway(o: { sandboxAddr: string; env: Record<string, string>; nodeArgs?: readonly string[] }): Promise<GatewayChild> {
  const port = await freePort();
  // Rooms of a benchmark go to a file of its own (on disk, as in production), never the user's.
  const dbDir = mkdtempSync(join(tmpdir(), 'cc-bench-collab-'));
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), '--import', 'tsx', 'gateway/src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), SANDBOX_ADDR: o.sandboxAddr, LOG_LEVEL: 'error', COLLAB_DB: join(dbDir, 'collab.sqlite'), ...o.env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dbDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error('the gateway did not start');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, pid: child.pid ?? -1, stop };
}
