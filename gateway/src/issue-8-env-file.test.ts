/**
 * Issue 8: the seed's Quick Start writes `gateway/.env`; the gateway must read
 * it at start (a variable set in the environment wins) and say so in its log.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const realEnvFile = join(root, 'gateway/.env');
// A developer's own gateway/.env is never touched: then the test uses a file of its own through GATEWAY_ENV_FILE.
const useRealFile = !existsSync(realEnvFile);
const tmp = mkdtempSync(join(tmpdir(), 'codecell-issue8-'));
const envFile = useRealFile ? realEnvFile : join(tmp, '.env');

afterAll(() => {
  if (useRealFile) rmSync(realEnvFile, { force: true });
  rmSync(tmp, { recursive: true, force: true });
});

/** Starts gateway/src/main.ts with `env` (nothing inherited that the test does not want) and resolves with its URL and log. */
async function startGateway(env: Record<string, string>): Promise<{ url: string; log: () => string; stop: () => Promise<number | null> }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['PORT', 'HOST', 'GATEWAY_ENV_FILE', 'SANDBOX_ADDR', 'COLLAB_DB'].includes(k)));
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts'], {
    cwd: root,
    env: { ...inherited, ...(useRealFile ? {} : { GATEWAY_ENV_FILE: envFile }), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let log = '';
  child.stderr.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the gateway did not start:\n${log}`)), 30_000);
    child.stderr.on('data', (s: string) => {
      log += s;
      const m = /gateway listening on (http:\/\/\S+)/.exec(log);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then(() => reject(new Error(`the gateway exited early:\n${log}`)));
  });
  return {
    url,
    log: () => log,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('issue 8: gateway/.env', () => {
  it('PORT=4100 in gateway/.env moves the gateway to 4100, and the log names the file', async () => {
    writeFileSync(envFile, 'PORT=4100\nSANDBOX_ADDR=127.0.0.1:1\nCOLLAB_DB=:memory:\nRUN_TIMEOUT_MS=9000\n');
    const gw = await startGateway({});
    try {
      expect(gw.url).toBe('http://127.0.0.1:4100');
      const health = (await (await fetch(`${gw.url}/healthz`)).json()) as { message: string };
      expect(health.message).toMatch(/the sandbox at http:\/\/127.0.0.1:1 is not reachable/);
      expect(gw.log()).toContain(`read settings from ${envFile}: COLLAB_DB, PORT, RUN_TIMEOUT_MS, SANDBOX_ADDR`);
    } finally {
      expect(await gw.stop()).toBe(0);
    }
  });

  it('a variable set in the environment wins over the file', async () => {
    writeFileSync(envFile, 'PORT=4100\nSANDBOX_ADDR=127.0.0.1:1\nCOLLAB_DB=:memory:\n');
    const gw = await startGateway({ PORT: '0' });
    try {
      expect(gw.url).not.toBe('http://127.0.0.1:4100');
      expect(gw.log()).toContain('the environment overrides PORT');
      // What the environment did not set still comes from the file.
      const health = (await (await fetch(`${gw.url}/healthz`)).json()) as { message: string };
      expect(health.message).toMatch(/127.0.0.1:1 is not reachable/);
    } finally {
      expect(await gw.stop()).toBe(0);
    }
  });

  it('a bad value in the file stops the gateway with a message naming the variable', async () => {
    writeFileSync(envFile, 'PORT=lots\n');
    const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts'], {
      cwd: root,
      env: { ...process.env, PORT: '', GATEWAY_ENV_FILE: '', ...(useRealFile ? {} : { GATEWAY_ENV_FILE: envFile }) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('PORT');
  });
});
