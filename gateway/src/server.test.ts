import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { TRPCClientError } from '@trpc/client';
import { RUNTIME_IDS, runtimeInfos } from '@codecell/protocol';
import { loadConfig } from './config.js';
import { createGateway } from './server.js';
import type { Gateway } from './server.js';
import { captureLogger } from './test/captureLogger.js';
import { kindsOf, openStream, stdoutOf, trpcClient } from './test/clients.js';
import { connectRaw } from './test/rawWsClient.js';
import { startFakeSandboxServer, startNdjson, writeEvent } from './test/fakeSandboxServer.js';
import type { FakeHandler, FakeSandboxServer } from './test/fakeSandboxServer.js';

const exitOk = { type: 'exit', code: 0, signal: null, status: 'ok', cpuMs: 1, wallMs: 2, maxRssKb: 3 } as const;
const files = [{ path: 'main.py', content: 'print(1)' }];

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(
  handler: FakeHandler,
  env: Record<string, string> = {},
  { log = captureLogger(), pingIntervalMs = 100 }: { log?: ReturnType<typeof captureLogger>; pingIntervalMs?: number } = {},
): Promise<{ gw: Gateway; fake: FakeSandboxServer; log: ReturnType<typeof captureLogger> }> {
  const fake = await startFakeSandboxServer(handler);
  cleanups.push(() => fake.close());
  const gw = await createGateway(loadConfig({ PORT: '0', SANDBOX_ADDR: fake.url, COLLAB_DB: ':memory:', ...env }), log.logger, { pingIntervalMs });
  cleanups.push(() => gw.close());
  return { gw, fake, log };
}

/** A run that prints `lines`, one event each, and exits. */
const printing = (lines: string[]): FakeHandler => (req, res) => {
  if (req.path === '/runtimes') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ runtimes: runtimeInfos({ py: '3.11.2' }) }));
  if (req.path !== '/run') return void res.writeHead(202).end('{}');
  startNdjson(res, 'sbx-1');
  writeEvent(res, { type: 'start', jobId: 'sbx-1', vmId: 'vm', at: 1 });
  for (const l of lines) writeEvent(res, { type: 'stdout', data: l });
  writeEvent(res, exitOk);
  res.end();
};

describe('gateway (fake sandbox)', () => {
  it('runCode → /stream: hello, queued, events, end, close 1000; a late subscriber gets the replay', async () => {
    const { gw } = await setup(printing(['a\n', 'b\n']));
    const { jobId, position } = await trpcClient(gw.url).runCode.mutate({ files, startedBy: 'ada' });
    expect(position).toBe(0);
    const s = openStream(gw.url, jobId);
    expect(await s.closed).toEqual({ code: 1000, reason: 'run ended' });
    expect(kindsOf(s.messages)).toEqual(['hello', 'queued', 'start', 'stdout', 'stdout', 'exit', 'end']);
    expect(s.messages[0]).toMatchObject({ type: 'hello', protocolVersion: 1, jobId, startedBy: 'ada', truncated: false });
    const late = openStream(gw.url, jobId);
    await late.closed;
    expect(late.messages).toEqual(s.messages);
  });

  it('closes unknown and malformed jobIds with 4404, and 404s unknown upgrade paths without crashing', async () => {
    const { gw } = await setup(printing([]));
    expect((await openStream(gw.url, 'nope').closed).code).toBe(4404);
    expect((await openStream(gw.url, 'bad!id').closed).code).toBe(4404);
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/collab/room`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(404);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });

  it('closes a stalled socket with 4429 at the cap, while the run goes on for others', async () => {
    const cap = 256 * 1024;
    const chunk = 'x'.repeat(64 * 1024);
    const log = captureLogger();
    const slowClosed = (): boolean => log.entries.some((e) => e.msg.startsWith('closing a stream socket'));
    let sent = 0;
    // Paced output (so a reader that keeps up stays under the cap) until the stalled one was cut.
    const paced: FakeHandler = async (req, res) => {
      if (req.path !== '/run') return void res.writeHead(202).end('{}');
      startNdjson(res, 'sbx-1');
      writeEvent(res, { type: 'start', jobId: 'sbx-1', vmId: 'vm', at: 1 });
      for (; sent < 2048 && !slowClosed(); sent++) {
        writeEvent(res, { type: 'stdout', data: chunk });
        await new Promise((r) => setTimeout(r, 1));
      }
      for (let i = 0; i < 16; i++, sent++) writeEvent(res, { type: 'stdout', data: chunk }); // the run goes on
      writeEvent(res, exitOk);
      res.end();
    };
    // Slow pings: the stalled reader never pongs, and must be cut by the cap, not by the ping timeout.
    const { gw } = await setup(paced, { STREAM_MAX_BUFFERED_BYTES: String(cap) }, { log, pingIntervalMs: 60_000 });
    // Subscribe before output flows: runCode answers before the sandbox has sent anything.
    const { jobId } = await trpcClient(gw.url).runCode.mutate({ files });
    const stalled = await connectRaw(gw.url, `/stream/${jobId}`);
    stalled.stall();
    cleanups.push(async () => stalled.destroy());
    const healthy = openStream(gw.url, jobId);
    expect(await healthy.closed).toEqual({ code: 1000, reason: 'run ended' });
    expect(stdoutOf(healthy.messages)).toHaveLength(sent * chunk.length);
    const warn = log.entries.find((e) => e.msg.startsWith('closing a stream socket'));
    expect(warn?.data?.['bufferedAmount']).toBeGreaterThan(cap);
    // Bounded: at most the cap plus the one message that crossed it, and nothing added after the close.
    const bound = cap + chunk.length + 1024;
    expect(warn?.data?.['bufferedAmount']).toBeLessThan(bound);
    expect(gw.streams.bufferedBytes).toBeLessThan(bound);
    const { texts, closeCode } = await stalled.drain();
    expect(closeCode).toBe(4429);
    expect(JSON.parse(texts[0] ?? '{}')).toMatchObject({ type: 'hello', jobId });
  });

  it('maps errors to tRPC codes with data.codecellCode', async () => {
    const { gw } = await setup(printing([]));
    const client = trpcClient(gw.url);
    const err = await client.sendStdin.mutate({ jobId: 'missing', data: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TRPCClientError);
    expect((err as TRPCClientError<never>).data).toMatchObject({ code: 'NOT_FOUND', httpStatus: 404, codecellCode: 'not_found' });
    const bad = await client.runCode.mutate({ files, entry: 'x.py' }).catch((e: unknown) => e);
    expect((bad as TRPCClientError<never>).data).toMatchObject({ code: 'BAD_REQUEST', codecellCode: 'invalid_request' });
    expect((bad as Error).message).toMatch(/entry "x.py" is not one of the files/);
    const invalid = await client.runCode.mutate({ files: [] }).catch((e: unknown) => e);
    expect((invalid as Error).message).toMatch(/^invalid input: files: files must contain at least the entry file/);
    const runtimes = await client.runtimes.query();
    expect(runtimes.map((r) => r.language)).toEqual(RUNTIME_IDS);
    // The fake sandbox's GET /runtimes lists every runtime, with a version for Python only.
    expect(runtimes.find((r) => r.language === 'py')).toMatchObject({ name: 'Python', version: '3.11.2', available: true, entry: 'main.py', monaco: 'python' });
    expect(runtimes.find((r) => r.language === 'go')).toMatchObject({ version: null, available: true, compiled: true });
  });

  it('reports the sandbox as down in health and ends runs with sandbox_unavailable', async () => {
    const { gw, fake } = await setup(printing([]));
    await fake.close();
    const client = trpcClient(gw.url);
    const h = await client.health.query();
    expect(h).toMatchObject({ ok: false, sandbox: null, message: expect.stringMatching(/is not reachable/) as string });
    const { jobId } = await client.runCode.mutate({ files });
    const s = openStream(gw.url, jobId);
    await s.closed;
    expect(s.messages.at(-1)).toMatchObject({ type: 'end', status: 'sandbox_unavailable' });
    expect(kindsOf(s.messages)).toEqual(['hello', 'queued', 'error', 'end']);
  });

  it('answers CORS preflights for allowed origins only', async () => {
    const { gw } = await setup(printing([]));
    const pre = (origin: string) =>
      fetch(`${gw.url}/trpc/runCode`, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' } });
    const ok = await pre('http://localhost:5173');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const no = await pre('http://evil.test');
    expect(no.status).toBe(403);
    expect(no.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('closes open streams with 4503 on shutdown and ends the runs', async () => {
    const { gw } = await setup((req, res) => {
      if (req.path !== '/run') return void res.writeHead(202).end('{}');
      startNdjson(res, 'sbx-1');
      writeEvent(res, { type: 'start', jobId: 'sbx-1', vmId: 'vm', at: 1 });
    });
    const { jobId } = await trpcClient(gw.url).runCode.mutate({ files });
    const s = openStream(gw.url, jobId);
    await s.waitFor((m) => m.type === 'event');
    await gw.close();
    expect((await s.closed).code).toBe(4503);
  });

  it('drops peers that stop answering pings', async () => {
    const { gw } = await setup((req, res) => {
      if (req.path !== '/run') return void res.writeHead(202).end('{}');
      startNdjson(res, 'sbx-1');
    });
    const { jobId } = await trpcClient(gw.url).runCode.mutate({ files });
    const s = openStream(gw.url, jobId);
    await s.waitFor((m) => m.type === 'hello');
    expect(gw.streams.connectionCount).toBe(1);
    (s.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await expect.poll(() => gw.streams.connectionCount, { timeout: 2000 }).toBe(0);
  });
});

describe('gateway frontend serving', () => {
  it('serves files with content types, falls back to index.html, and refuses traversal', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-dist-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>cc</title>');
    await writeFile(join(dir, 'assets', 'app-1.js'), 'console.log(1)');
    await writeFile(join(dir, '..', 'gw-secret.txt'), 'secret').catch(() => undefined);
    cleanups.push(() => rm(join(dir, '..', 'gw-secret.txt'), { force: true }));
    const { gw } = await setup(printing([]), { FRONTEND_DIST: dir });
    const js = await fetch(`${gw.url}/assets/app-1.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toMatch(/immutable/);
    const page = await fetch(`${gw.url}/rooms/abc`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('<title>cc</title>');
    expect((await fetch(`${gw.url}/assets/missing.js`)).status).toBe(404);
    for (const p of ['/../gw-secret.txt', '/%2e%2e/gw-secret.txt', '/assets/..%2f..%2fgw-secret.txt']) {
      const status = await rawGet(gw.url, p);
      expect(status.body).not.toContain('secret');
    }
  });
});

/** GET without URL normalisation (fetch would resolve the dots itself). */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/`, { path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
