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
  /** Sends `body` as one run; resolves with ms until a message with its first stdout event arrived, once the answer ended. */
  run(body: object): Promise<number>;
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
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let onMessage: ((text: string, at: number) => void) | null = null;
  ws.on('message', (data: Buffer) => onMessage?.(data.toString('utf8'), performance.now()));
  return {
    run: (body) =>
      new Promise<number>((resolve, reject) => {
        const t0 = performance.now();
        let first = NaN;
        const timer = setTimeout(() => reject(new Error('no answer through the bare relay in 30 s')), 30_000);
        onMessage = (text, at) => {
          if (Number.isNaN(first) && text.includes('"type":"stdout"')) first = at - t0;
          if (text !== '') return;
          clearTimeout(timer);
          onMessage = null;
          if (Number.isNaN(first)) reject(new Error('the run through the bare relay printed nothing'));
          else resolve(first);
        };
        ws.send(JSON.stringify(body));
      }),
    stop: async () => {
      ws.terminate();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
