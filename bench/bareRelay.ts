/**
 * Client side of bench/bareRelayProcess.ts: starts it in a process of its
 * own (as the gateway is) and times a run through it to its first stdout.
 * @module
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A started relay, with one client socket open to it. */
export interface BareRelay {
  /** Sends `body` as one run; once the answer ended, resolves with ms until a message with its first stdout event arrived, and the sandbox's job id (its `start` event's). */
  run(body: object): Promise<{ first: number; jobId: string }>;
  stop(): Promise<void>;
}

export async function startBareRelay(sandbox: { url: string; token: string }): Promise<BareRelay> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/bareRelayProcess.ts'], {
    cwd: ROOT,
    env: { ...process.env, SANDBOX_URL: sandbox.url, SANDBOX_TOKEN: sandbox.token },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.stdout.setEncoding('utf8');
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (s: string) => {
      out += s;
      if (out.includes('\n')) resolve(out.split('\n')[0]?.trim() ?? '');
    });
    void exited.then(() => reject(new Error('the bare relay exited before listening')));
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const ws = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
  } catch (err) {
    await stop();
    throw err;
  }
  let onMessage: ((text: string, at: number) => void) | null = null;
  let onClose: ((why: string) => void) | null = null;
  ws.on('message', (data: Buffer) => onMessage?.(data.toString('utf8'), performance.now()));
  ws.on('close', (code) => onClose?.(`the bare relay closed the socket (${code})`));
  ws.on('error', (err) => onClose?.(`the socket to the bare relay failed: ${err.message}`));
  return {
    run: (body) =>
      new Promise<{ first: number; jobId: string }>((resolve, reject) => {
        const t0 = performance.now();
        let first = NaN;
        let jobId = '';
        let buffered = '';
        const done = (err: Error | null): void => {
          clearTimeout(timer);
          onMessage = onClose = null;
          if (err) reject(err);
          else if (Number.isNaN(first)) reject(new Error('the run through the bare relay printed nothing'));
          else resolve({ first, jobId });
        };
        const timer = setTimeout(() => done(new Error('no answer through the bare relay in 30 s')), 30_000);
        onClose = (why) => done(new Error(why));
        onMessage = (text, at) => {
          if (text === '') return done(null);
          // The answer's NDJSON, split wherever the chunks fell: the first stdout line counts when it is whole.
          buffered += text;
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            let event: { type?: unknown; jobId?: unknown };
            try {
              event = JSON.parse(line) as { type?: unknown; jobId?: unknown };
            } catch {
              return done(new Error(`the sandbox sent a line that is not JSON: ${line.slice(0, 100)}`));
            }
            if (event.type === 'start' && typeof event.jobId === 'string') jobId = event.jobId;
            if (Number.isNaN(first) && event.type === 'stdout') first = at - t0;
          }
        };
        ws.send(JSON.stringify(body));
      }),
    stop: async () => {
      onClose = null;
      ws.terminate();
      await stop();
    },
  };
}
