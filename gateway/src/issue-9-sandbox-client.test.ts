/**
 * Issue 9: the sandbox answers only the gateway, so the gateway's one client
 * of it sends the shared secret on every call: SANDBOX_TOKEN, else the token
 * file the sandbox writes on first start, read lazily (start order does not
 * matter) and re-read when the sandbox refuses it. A token file other users
 * could read is refused before anything is sent. SANDBOX_ADDR may name a Unix
 * socket (`unix:/path`).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { SandboxClient } from './sandboxClient.js';
import { startFakeSandboxServer, startNdjson, writeEvent } from './test/fakeSandboxServer.js';
import type { FakeHandler, FakeSandboxServer } from './test/fakeSandboxServer.js';

const TOKEN = 'the-sandbox-token-0123456789abcdef';
const body = { language: 'py', source: 'print(1)' } as const;
const exit = { type: 'exit', code: 0, signal: null, status: 'ok', cpuMs: 1, wallMs: 2, maxRssKb: 3 } as const;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const answer: FakeHandler = (req, res) => {
  if (req.path === '/run') {
    startNdjson(res, 'job-1');
    writeEvent(res, exit);
    return void res.end();
  }
  res.writeHead(202, { 'Content-Type': 'application/json' }).end('{}');
};

async function fake(o: { token: string; socketPath?: string }): Promise<FakeSandboxServer> {
  const f = await startFakeSandboxServer(answer, o);
  cleanups.push(() => f.close());
  return f;
}

function client(opts: ConstructorParameters<typeof SandboxClient>[0]): SandboxClient {
  const c = new SandboxClient(opts);
  cleanups.push(() => c.dispose());
  return c;
}

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'cc-issue9-client-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function drain(c: SandboxClient): Promise<string[]> {
  const run = await c.run(body);
  const types: string[] = [];
  for await (const ev of run.events) types.push(ev.type);
  return types;
}

describe('issue 9: SandboxClient authenticates to the sandbox', () => {
  it('sends Authorization: Bearer <SANDBOX_TOKEN> on every call', async () => {
    const f = await fake({ token: TOKEN });
    const c = client({ baseUrl: f.url, token: TOKEN });
    expect(await drain(c)).toEqual(['exit']);
    await c.sendStdin('job-1', { data: 'x' });
    await c.kill('job-1');
    expect(f.requests.map((r) => r.raw.headers.authorization)).toEqual([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
    expect(f.requests.every((r) => r.raw.headers['content-type'] === 'application/json')).toBe(true);
  });

  it('reads the token file lazily: before the sandbox wrote it the error says so; afterwards it works', async () => {
    const f = await fake({ token: TOKEN });
    const file = join(tmp(), 'sandbox.token');
    const c = client({ baseUrl: f.url, tokenFile: file });
    await expect(c.run(body)).rejects.toMatchObject({
      code: 'sandbox_unavailable',
      message: expect.stringMatching(new RegExp(`refused the gateway: no token: ${file} does not exist.*start the sandbox.*SANDBOX_TOKEN`)) as string,
    });
    writeFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
    expect(await drain(c)).toEqual(['exit']);
  });

  it('re-reads the token file when the sandbox refuses the token, and retries once', async () => {
    const f = await fake({ token: TOKEN });
    const file = join(tmp(), 'sandbox.token');
    writeFileSync(file, `${'old'.repeat(10)}\n`, { mode: 0o600 });
    const c = client({ baseUrl: f.url, tokenFile: file });
    await expect(c.kill('j')).rejects.toMatchObject({ code: 'sandbox_unavailable', message: expect.stringMatching(/refused the gateway's token/) as string });
    writeFileSync(file, `${TOKEN}\n`, { mode: 0o600 }); // the sandbox was restarted with a new token file
    expect(await drain(c)).toEqual(['exit']);
    expect(f.requests.at(-1)?.raw.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('refuses a token file other users can read, and sends nothing', async () => {
    const f = await fake({ token: TOKEN });
    const file = join(tmp(), 'sandbox.token');
    writeFileSync(file, `${TOKEN}\n`);
    chmodSync(file, 0o644);
    const c = client({ baseUrl: f.url, tokenFile: file });
    await expect(c.run(body)).rejects.toMatchObject({ code: 'sandbox_unavailable', message: expect.stringMatching(/mode 0644.*chmod 600/) as string });
    expect(f.requests).toHaveLength(0);
  });

  it('talks to a sandbox on a Unix socket (SANDBOX_ADDR=unix:/path)', async () => {
    const socketPath = join(tmp(), 'sandbox.sock');
    const f = await fake({ token: TOKEN, socketPath });
    const config = loadConfig({ SANDBOX_ADDR: `unix:${socketPath}`, SANDBOX_TOKEN: TOKEN });
    expect(config.SANDBOX_ADDR).toBe(`unix:${socketPath}`);
    const c = client({ baseUrl: config.SANDBOX_ADDR, token: TOKEN });
    expect(await drain(c)).toEqual(['exit']);
    expect(f.requests[0]?.raw.headers.host).toBe('localhost');
  });
});

describe('issue 9: gateway configuration of the sandbox token', () => {
  it('defaults SANDBOX_TOKEN_FILE to <cache dir>/sandbox.token, like the sandbox', () => {
    expect(loadConfig({ HOME: '/home/ada' }).SANDBOX_TOKEN_FILE).toBe('/home/ada/.cache/codecell/sandbox.token');
    expect(loadConfig({ HOME: '/home/ada', XDG_CACHE_HOME: '/var/cache/x' }).SANDBOX_TOKEN_FILE).toBe('/var/cache/x/codecell/sandbox.token');
    expect(loadConfig({ CODECELL_CACHE_DIR: '/srv/cc' }).SANDBOX_TOKEN_FILE).toBe('/srv/cc/sandbox.token');
    expect(loadConfig({ SANDBOX_TOKEN: TOKEN }).SANDBOX_TOKEN).toBe(TOKEN);
    expect(() => loadConfig({ SANDBOX_TOKEN: 'short' })).toThrow(/SANDBOX_TOKEN/);
    expect(() => loadConfig({ SANDBOX_ADDR: 'unix:relative.sock' })).toThrow(/SANDBOX_ADDR/);
  });
});
