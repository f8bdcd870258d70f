/**
 * Issue 9: the sandbox answers only the gateway. Any web page the user visits
 * could otherwise drive `POST /run` with a `no-cors` `text/plain` fetch, and a
 * DNS-rebinding page could read the answers. Every request needs the shared
 * secret, bodies are `application/json` only, browser requests (an `Origin`
 * or a cross-site `Sec-Fetch-Site`) are refused and the Host must be one of
 * ours. Each refusal is proven to run nothing: no run counted, no VM booted.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { errorBodySchema, runtimesResponseSchema } from '@codecell/protocol';
import type { Health } from '@codecell/protocol';
import { loadConfig } from '../config.js';
import { fakeCore } from '../../test/fakeVmm/fakeCore.js';
import { listenOnLoopback } from '../../test/listenOnLoopback.js';
import { testSandboxServer } from '../../test/testSandboxServer.js';
import { allowedHostsFor } from './requestGuard.js';

const TOKEN = 'issue-9-test-token-0123456789abcdef';
const RUN = JSON.stringify({ language: 'py', source: 'print:hi\n' });

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  // No warm pool: nothing boots unless a run acquires a VM, so "no VM" proves "nothing ran".
  const core = fakeCore({ env: { MAX_SESSIONS: '4' }, poolTarget: 0, mode: 'boot' });
  const { driver, runs } = core;
  const server = testSandboxServer({
    runs,
    token: TOKEN,
    health: () => ({ ok: true, marker: 'health-body' }) as unknown as Health,
    allowedHosts: new Set(['localhost', '127.0.0.1', '::1', 'sandbox.internal']),
  });
  const port = await listenOnLoopback(server, cleanups, () => core.dispose());
  const send = (o: { method?: string; path?: string; headers?: Record<string, string>; body?: string }) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: o.method ?? 'POST', path: o.path ?? '/run', headers: o.headers ?? {} }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      req.end(o.body);
    });
  const nothingRan = (): void => {
    expect(runs.stats().total).toBe(0);
    expect(driver.vms).toHaveLength(0);
  };
  return { send, runs, driver, nothingRan };
}

const auth = { authorization: `Bearer ${TOKEN}` };
const json = { 'content-type': 'application/json' };
const codeOf = (body: string): string => errorBodySchema.parse(JSON.parse(body)).error.code;

describe('issue 9: the sandbox answers only the gateway', () => {
  it('refuses the no-cors text/plain POST of a web page and runs nothing', async () => {
    const { send, nothingRan } = await setup();
    const res = await send({ headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'https://evil.example' }, body: RUN });
    expect([401, 403, 415]).toContain(res.status);
    nothingRan();
  });

  it('refuses a request without the token, or with a wrong one, with 401 unauthorized', async () => {
    const { send, nothingRan } = await setup();
    const none = await send({ headers: json, body: RUN });
    expect(none.status).toBe(401);
    expect(codeOf(none.body)).toBe('unauthorized');
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(JSON.parse(none.body).error.message).toMatch(/SANDBOX_TOKEN/);
    for (const wrong of [`Bearer ${TOKEN.slice(0, -1)}x`, 'Bearer short', `Basic ${TOKEN}`, TOKEN, `Bearer ${TOKEN}${TOKEN}`]) {
      const res = await send({ headers: { ...json, authorization: wrong }, body: RUN });
      expect(res.status, wrong).toBe(401);
      expect(codeOf(res.body)).toBe('unauthorized');
    }
    for (const path of ['/run/jabc/stdin', '/run/jabc/kill']) {
      expect((await send({ path, headers: json, body: '{}' })).status).toBe(401);
    }
    expect((await send({ method: 'GET', path: '/runtimes' })).status).toBe(401);
    nothingRan();
  });

  it('refuses any request with a browser Origin or a cross-site Sec-Fetch-Site, even with the token', async () => {
    const { send, nothingRan } = await setup();
    const evil = await send({ headers: { ...auth, ...json, origin: 'https://evil.example' }, body: RUN });
    expect(evil.status).toBe(403);
    expect(codeOf(evil.body)).toBe('forbidden');
    const nullOrigin = await send({ headers: { ...auth, ...json, origin: 'null' }, body: RUN });
    expect(nullOrigin.status).toBe(403);
    const site = await send({ headers: { ...auth, ...json, 'sec-fetch-site': 'cross-site' }, body: RUN });
    expect(site.status).toBe(403);
    nothingRan();
  });

  it('accepts application/json bodies only (415 unsupported_media_type before anything runs)', async () => {
    const { send, nothingRan } = await setup();
    for (const type of ['text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/jsonx']) {
      const res = await send({ headers: { ...auth, 'content-type': type }, body: RUN });
      expect(res.status, type).toBe(415);
      expect(codeOf(res.body)).toBe('unsupported_media_type');
    }
    const untyped = await send({ headers: auth, body: RUN });
    expect(untyped.status).toBe(415);
    nothingRan();
  });

  it('refuses a Host that is not ours (DNS rebinding) and accepts loopback names and SANDBOX_ALLOWED_HOSTS', async () => {
    const { send, nothingRan, runs } = await setup();
    for (const host of ['evil.test', 'evil.test:5000', 'localhost.evil.test', '127.0.0.1.nip.io', 'localhost/x']) {
      const res = await send({ headers: { ...auth, ...json, host }, body: RUN });
      expect(res.status, host).toBe(403);
      expect(codeOf(res.body)).toBe('forbidden');
    }
    const health = await send({ method: 'GET', path: '/healthz', headers: { host: 'evil.test' } });
    expect(health.status).toBe(403);
    nothingRan();
    for (const host of ['localhost:5000', '127.0.0.1', '[::1]:5000', 'SANDBOX.internal:80']) {
      const res = await send({ headers: { ...auth, ...json, host }, body: RUN });
      expect(res.status, host).toBe(200);
    }
    expect(runs.stats().total).toBe(4);
  });

  it('runs a request with the token and a JSON body (the gateway), and serves /healthz without the token', async () => {
    const { send, runs } = await setup();
    const ok = await send({ headers: { ...auth, 'content-type': 'application/json; charset=utf-8' }, body: RUN });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('hi');
    expect(runs.stats().total).toBe(1);
    const kill = await send({ path: '/run/jnone/kill', headers: auth });
    expect(kill.status).toBe(404); // authenticated, bodiless POST: routed (unknown job)
    const health = await send({ method: 'GET', path: '/healthz' });
    expect(health.status).toBe(200);
    expect(health.body).toContain('health-body');
    expect(health.body).not.toContain(TOKEN);
    const table = await send({ method: 'GET', path: '/runtimes', headers: auth });
    expect(table.status).toBe(200);
    expect(runtimesResponseSchema.parse(JSON.parse(table.body)).runtimes.find((r) => r.id === 'py')?.version).toBe('3.11.2');
  });
});

describe('issue 9: the Host allow-list', () => {
  it('is the loopback names, SANDBOX_HOST unless it is a wildcard, and SANDBOX_ALLOWED_HOSTS', () => {
    expect([...allowedHostsFor(loadConfig({}))].sort()).toEqual(['127.0.0.1', '::1', 'localhost']);
    expect([...allowedHostsFor(loadConfig({ SANDBOX_HOST: '0.0.0.0', SANDBOX_ALLOWED_HOSTS: 'sandbox,sbx.lan' }))].sort()).toEqual(['127.0.0.1', '::1', 'localhost', 'sandbox', 'sbx.lan']);
    expect(allowedHostsFor(loadConfig({ SANDBOX_HOST: 'Sandbox.Internal' })).has('sandbox.internal')).toBe(true);
  });
});
