/**
 * Issue 9, finding "any web page the user visits can drive the gateway": a
 * DNS-rebinding page controls both Host and Origin, other pages can send
 * simple (preflight-free) POSTs, and `/stream` checked no Origin. Each is
 * refused now; clients without an Origin (scripts, curl) keep working.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { createGateway } from './server.js';
import type { Gateway } from './server.js';
import { captureLogger } from './test/captureLogger.js';
import { trpcClient } from './test/clients.js';
import { rawRequest, tryUpgrade } from './test/rawHttp.js';
import { startFakeSandboxServer } from './test/fakeSandboxServer.js';
import type { FakeSandboxServer } from './test/fakeSandboxServer.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(env: Record<string, string> = {}): Promise<{ gw: Gateway; fake: FakeSandboxServer }> {
  // Runs are accepted and never answered: what matters is whether they reach the sandbox.
  const fake = await startFakeSandboxServer(() => undefined);
  cleanups.push(() => fake.close());
  const gw = await createGateway(loadConfig({ PORT: '0', SANDBOX_ADDR: fake.url, COLLAB_DB: ':memory:', ...env }), captureLogger().logger);
  cleanups.push(() => gw.close());
  return { gw, fake };
}

/** Writes `text` on a fresh TCP connection and returns what comes back. */
function rawHttp(baseUrl: string, text: string): Promise<string> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.end(text));
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

const runBody = JSON.stringify({ files: [{ path: 'main.py', content: 'print(1)' }] });
const codeOf = (body: string): unknown => (JSON.parse(body) as { error?: { data?: { codecellCode?: unknown }; code?: unknown } }).error?.data?.codecellCode;

describe('issue 9: Host allow-list (DNS rebinding)', () => {
  it('refuses an upgrade to /collab with Host: evil.test, even with a matching Origin', async () => {
    const { gw } = await setup();
    const port = new URL(gw.url).port;
    const plain = await tryUpgrade(gw.url, '/collab?protocolVersion=1', { Host: `evil.test:${port}` });
    expect(plain.status).toBe(403);
    expect(plain.body).toMatch(/Host "evil.test:\d+" is not served here/);
    const rebinding = await tryUpgrade(gw.url, '/collab?protocolVersion=1', { Host: `evil.test:${port}`, Origin: `http://evil.test:${port}` });
    expect(rebinding.status).toBe(403);
    // The gateway's own names still work.
    expect((await tryUpgrade(gw.url, '/collab?protocolVersion=1', { Host: `localhost:${port}`, Origin: `http://localhost:${port}` })).status).toBe(101);
  });

  it('refuses plain HTTP requests for a foreign Host, and requests without a Host', async () => {
    const { gw } = await setup();
    const res = await rawRequest(gw.url, { path: '/trpc/runtimes', headers: { Host: 'evil.test' } });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'forbidden' } });
    expect(await rawHttp(gw.url, 'GET /healthz HTTP/1.0\r\n\r\n')).toMatch(/^HTTP\/1.1 400/);
    expect((await fetch(`${gw.url}/trpc/runtimes`)).status).toBe(200);
  });

  it('serves a PUBLIC_URL host (and ALLOWED_HOSTS) besides the loopback names', async () => {
    const { gw } = await setup({ PUBLIC_URL: 'https://ide.example.org', ALLOWED_HOSTS: 'lab.example.org' });
    for (const host of ['ide.example.org', 'IDE.example.org:443', 'lab.example.org', '127.0.0.1']) {
      expect((await rawRequest(gw.url, { path: '/trpc/runtimes', headers: { Host: host } })).status, host).toBe(200);
    }
    expect((await rawRequest(gw.url, { path: '/trpc/runtimes', headers: { Host: 'ide.example.org.evil.test' } })).status).toBe(403);
  });
});

describe('issue 9: Origin check on every WebSocket upgrade', () => {
  it('refuses /stream/<jobId> from a foreign Origin and accepts clients without one', async () => {
    const { gw } = await setup();
    const { jobId } = await trpcClient(gw.url).runCode.mutate({ files: [{ path: 'main.py', content: '' }] });
    const foreign = await tryUpgrade(gw.url, `/stream/${jobId}`, { Origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.body).toMatch(/origin https:\/\/evil.example is not allowed/);
    expect((await tryUpgrade(gw.url, `/stream/${jobId}`, { Origin: 'null' })).status).toBe(403);
    expect((await tryUpgrade(gw.url, `/stream/${jobId}`)).status).toBe(101);
    expect((await tryUpgrade(gw.url, `/stream/${jobId}`, { Origin: 'http://localhost:5173' })).status).toBe(101);
  });
});

describe('issue 9: CSRF-proof tRPC', () => {
  it('refuses cross-site simple POSTs (multipart/form-data, text/plain, urlencoded) and runs nothing', async () => {
    const { gw, fake } = await setup();
    const form = new FormData();
    form.set('files', 'x');
    const multipart = new Request(`${gw.url}/trpc/runCode`, { method: 'POST', body: form });
    const bodies: Array<{ type: string; body: string | Buffer }> = [
      { type: multipart.headers.get('content-type') ?? '', body: Buffer.from(await multipart.arrayBuffer()) },
      { type: 'text/plain', body: runBody },
      { type: 'application/x-www-form-urlencoded', body: 'files=x' },
    ];
    for (const { type, body } of bodies) {
      const res = await rawRequest(gw.url, { method: 'POST', path: '/trpc/runCode', body, headers: { Host: new URL(gw.url).host, 'Content-Type': type, Origin: 'https://evil.example' } });
      expect(res.status, type).toBe(403);
      expect(codeOf(res.body), type).toBe('forbidden');
    }
    // Also a JSON POST from a foreign page (it would need a preflight, which CORS refuses, but never rely on that).
    const json = await rawRequest(gw.url, { method: 'POST', path: '/trpc/runCode', body: runBody, headers: { Host: new URL(gw.url).host, 'Content-Type': 'application/json', Origin: 'https://evil.example' } });
    expect(json.status).toBe(403);
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.requests).toEqual([]);
  });

  it('needs application/json for every POST, also without an Origin: a form body is never taken as input', async () => {
    const { gw, fake } = await setup();
    const res = await rawRequest(gw.url, { method: 'POST', path: '/trpc/stopRun', body: 'jobId=x', headers: { Host: new URL(gw.url).host, 'Content-Type': 'multipart/form-data; boundary=x' } });
    expect(res.status).toBe(415);
    expect(codeOf(res.body)).toBe('unsupported_media_type');
    expect(JSON.parse(res.body)).toMatchObject({ error: { message: expect.stringMatching(/application\/json/) as string } });
    expect(fake.requests).toEqual([]);
  });

  it('refuses a POST whose Sec-Fetch-Site says cross-site', async () => {
    const { gw } = await setup();
    const res = await rawRequest(gw.url, { method: 'POST', path: '/trpc/runCode', body: runBody, headers: { Host: new URL(gw.url).host, 'Content-Type': 'application/json', 'Sec-Fetch-Site': 'cross-site' } });
    expect(res.status).toBe(403);
  });

  it('keeps working for scripts (no Origin) and the configured dev frontend', async () => {
    const { gw } = await setup();
    const script = await fetch(`${gw.url}/trpc/runCode`, { method: 'POST', body: runBody, headers: { 'Content-Type': 'application/json' } });
    expect(script.status).toBe(200);
    const dev = await rawRequest(gw.url, { method: 'POST', path: '/trpc/runCode', body: runBody, headers: { Host: new URL(gw.url).host, 'Content-Type': 'application/json', Origin: 'http://localhost:5173' } });
    expect(dev.status).toBe(200);
    expect(dev.headers['access-control-allow-origin']).toBe('http://localhost:5173');
  });
});

describe('issue 9: default CORS origins', () => {
  it('allow only the dev frontend on loopback, and nothing extra when the gateway serves a PUBLIC_URL', () => {
    expect(loadConfig({}).CORS_ORIGINS).toEqual(['http://localhost:5173', 'http://127.0.0.1:5173']);
    const hosted = loadConfig({ HOST: '0.0.0.0', PUBLIC_URL: 'https://ide.example.org', AUTH_MODE: 'local' });
    expect(hosted.CORS_ORIGINS).toEqual([]);
  });
});
