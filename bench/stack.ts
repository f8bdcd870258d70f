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

/** Sandbox + gateway; `sandboxEnv` and `gatewayEnv` override their defaults. */
export async function startStack(o: { sandboxEnv?: Record<string, string>; gatewayEnv?: Record<string, string> } = {}): Promise<Stack> {
  const sandbox = await startSandbox({ env: { LOG_LEVEL: 'error', ...o.sandboxEnv } });
  const port = await freePort();
  // Rooms of a benchmark go to a file of its own (on disk, as in production), never the user's.
  const dbDir = mkdtempSync(join(tmpdir(), 'cc-bench-collab-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), SANDBOX_ADDR: `127.0.0.1:${sandbox.port}`, LOG_LEVEL: 'error', COLLAB_DB: join(dbDir, 'collab.sqlite'), ...o.gatewayEnv },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const gatewayUrl = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await sandbox.stop();
    rmSync(dbDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${gatewayUrl}/healthz`, { signal: AbortSignal.timeout(1000) })).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error('the gateway did not start');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { sandbox, gatewayUrl, gatewayPid: child.pid ?? -1, stop };
}
