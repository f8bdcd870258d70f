/**
 * Starts the real gateway as a child process (`node --import tsx
 * gateway/src/main.ts`, one PID we own) for tests that kill it.
 * @module
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** A running gateway process. */
export interface GatewayProcess extends AsyncDisposable {
  readonly url: string;
  readonly pid: number;
  /** Last lines it wrote to stderr. */
  stderrTail(): string;
  /** Sends `signal` to our child (by PID) and waits for it to exit; resolves with its exit code or signal. */
  kill(signal: NodeJS.Signals): Promise<number | NodeJS.Signals | null>;
}

/** Starts the gateway with `env` on top of ours and waits for "gateway listening on". */
export async function startGatewayProcess(env: Record<string, string>, timeoutMs = 30_000): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: '0', SANDBOX_ADDR: '127.0.0.1:1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let tail = '';
  child.stderr.setEncoding('utf8');
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const kill = async (signal: NodeJS.Signals): Promise<number | NodeJS.Signals | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the gateway did not start within ${timeoutMs} ms:\n${tail}`)), timeoutMs);
      child.stderr.on('data', (s: string) => {
        tail = (tail + s).slice(-8000);
        const m = /gateway listening on (http:\/\/\S+)/.exec(tail);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      void exited.then((how) => {
        clearTimeout(timer);
        reject(new Error(`the gateway exited (${String(how)}) before listening:\n${tail}`));
      });
    });
    return { url, pid: child.pid ?? -1, stderrTail: () => tail, kill, [Symbol.asyncDispose]: async () => void (await kill('SIGKILL')) };
  } catch (err) {
    await kill('SIGKILL');
    throw err;
  }
}
