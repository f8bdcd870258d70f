/**
 * A server child process a test started and owns by its PID: its stderr
 * tail, and stopping it (SIGTERM, SIGKILL after a grace period).
 * @module
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';

/** A spawned server. */
export interface OwnedProcess {
  readonly child: ChildProcess;
  /** Resolves when it exits. */
  readonly exited: Promise<void>;
  /** What it wrote last (stdout and stderr). */
  tail(): string;
  /** SIGTERM (or `signal`), SIGKILL after `graceMs`; resolves when it is gone. Safe to call twice. */
  stop(o?: { signal?: NodeJS.Signals; graceMs?: number }): Promise<void>;
}

/** Spawns `cmd` with its output captured (never inherited). */
export function spawnOwned(cmd: string, args: readonly string[], options: SpawnOptions = {}): OwnedProcess {
  const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (d: Buffer): void => void (tail = (tail + d.toString('utf8')).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.once('error', (err) => {
      tail += `\n${err.message}`;
      resolve();
    });
  });
  return {
    child,
    exited,
    tail: () => tail,
    stop: async (o = {}) => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        child.kill(o.signal ?? 'SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), o.graceMs ?? 10_000);
        await exited;
        clearTimeout(timer);
      }
      await exited;
    },
  };
}

/** Polls `check` every 50 ms until it resolves true; throws with `what` after `timeoutMs`. */
export async function waitUntil(check: () => Promise<boolean>, o: { what: string; timeoutMs: number; proc?: OwnedProcess }): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    if (o.proc && (o.proc.child.exitCode !== null || o.proc.child.signalCode !== null)) {
      throw new Error(`${o.what}: the process exited (${o.proc.child.exitCode ?? o.proc.child.signalCode}):\n${o.proc.tail()}`);
    }
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${o.what}: not ready within ${o.timeoutMs} ms${o.proc ? `:\n${o.proc.tail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
