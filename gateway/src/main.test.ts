import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

it('main.ts serves /healthz and exits 0 on SIGTERM', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', SANDBOX_ADDR: '127.0.0.1:1', LOG_LEVEL: 'info', COLLAB_DB: ':memory:' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    let stderr = '';
    child.stderr.setEncoding('utf8');
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (s: string) => {
        stderr += s;
        const m = /gateway listening on (http:\/\/\S+)/.exec(stderr);
        if (m?.[1]) resolve(m[1]);
      });
      void exited.then(() => reject(new Error(`main.ts exited early:\n${stderr}`)));
    });
    const health = (await (await fetch(`${url}/healthz`)).json()) as { ok: boolean; message: string };
    expect(health.ok).toBe(false);
    expect(health.message).toMatch(/the sandbox at http:\/\/127.0.0.1:1 is not reachable/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
