/**
 * Issue 9, finding "one client can exhaust the host", the gateway's part:
 * client limits beyond the configured maxima, unbounded bodies and batches,
 * what queued and finished runs keep in memory, the stream replay sent past the
 * per-socket cap, unlimited subscribers, slow clients and connection floods.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { TRPCClientError } from '@trpc/client';
import { runCodeInputSchema } from '@codecell/protocol';
import { silentLogger } from '@codecell/server-kit';
import { loadConfig } from './config.js';
import { LocalRuns } from './runs/local/LocalRuns.js';
import { RunManager } from './runs/RunManager.js';
import { createGateway } from './server.js';
import type { Gateway } from './server.js';
import { FakeSandbox } from './test/FakeSandbox.js';
import { captureLogger } from './test/captureLogger.js';
import { openStream, trpcClient } from './test/clients.js';
import { rawRequest, tryUpgrade } from './test/rawHttp.js';
import { connectRaw } from './test/rawWsClient.js';
import { startFakeSandboxServer, startNdjson, writeEvent } from './test/fakeSandboxServer.js';
import type { FakeHandler, FakeSandboxServer } from './test/fakeSandboxServer.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const never: FakeHandler = () => undefined;

async function setup(env: Record<string, string> = {}, handler: FakeHandler = never): Promise<{ gw: Gateway; fake: FakeSandboxServer }> {
  const fake = await startFakeSandboxServer(handler);
  cleanups.push(() => fake.close());
  const gw = await createGateway(loadConfig({ PORT: '0', SANDBOX_ADDR: fake.url, COLLAB_DB: ':memory:', ...env }), captureLogger().logger);
  cleanups.push(() => gw.close());
  return { gw, fake };
}

const codecellCode = (err: unknown): unknown => (err instanceof TRPCClientError ? (err.data as { codecellCode?: unknown } | undefined)?.codecellCode : undefined);
const files = [{ path: 'main.py', content: 'print(1)' }];
const exitOk = { type: 'exit', code: 0, signal: null, status: 'ok', cpuMs: 1, wallMs: 2, maxRssKb: 3 } as const;

describe('issue 9: MAX_MEM_MB and MAX_VCPUS are maxima', () => {
  it('refuses limits above them with limit_exceeded, naming the variable; runs without limits ask for the maximum', async () => {
    const { gw, fake } = await setup({ MAX_MEM_MB: '256', MAX_VCPUS: '2', MAX_RUN_TIMEOUT_MS: '10000' });
    const api = trpcClient(gw.url);
    for (const limits of [{ memoryMb: 4096 }, { vcpus: 64 }, { timeoutMs: 600_000 }]) {
      const err = await api.runCode.mutate({ files, limits }).catch((e: unknown) => e);
      expect(codecellCode(err), JSON.stringify(limits)).toBe('limit_exceeded');
      expect((err as Error).message).toMatch(/MAX_MEM_MB=256|MAX_VCPUS=2|MAX_RUN_TIMEOUT_MS=10000/);
    }
    await api.runCode.mutate({ files, limits: { memoryMb: 64 } });
    await api.runCode.mutate({ files });
    await expect.poll(() => fake.requests.length).toBe(2);
    const sent = fake.requests.map((r) => (r.body as { limits: unknown }).limits);
    expect(sent).toEqual([
      { timeoutMs: 5000, memoryMb: 64, vcpus: 2 },
      { timeoutMs: 5000, memoryMb: 256, vcpus: 2 },
    ]);
  });
});

describe('issue 9: bounded bodies and batches', () => {
  it('refuses a runCode body beyond what a room can hold (derived from MAX_ROOM_BYTES) with payload_too_large', async () => {
    const { gw, fake } = await setup({ MAX_ROOM_BYTES: String(64 * 1024) });
    const big = [{ path: 'main.py', content: 'x'.repeat(1024 * 1024) }];
    const err = await trpcClient(gw.url).runCode.mutate({ files: big }).catch((e: unknown) => e);
    expect(codecellCode(err)).toBe('payload_too_large');
    expect(fake.requests).toEqual([]);
    // A room-sized run still fits.
    await trpcClient(gw.url).runCode.mutate({ files: [{ path: 'main.py', content: 'y'.repeat(60 * 1024) }] });
  });

  it('refuses tRPC batches of more than MAX_TRPC_BATCH calls', async () => {
    const { gw } = await setup();
    const batch = (n: number) => rawRequest(gw.url, { path: `/trpc/${Array(n).fill('runtimes').join(',')}?batch=1&input=${encodeURIComponent('{}')}`, headers: { Host: new URL(gw.url).host } });
    expect((await batch(10)).status).toBe(200);
    const res = await batch(200);
    expect(res.status).toBe(400);
    expect(res.body).toMatch(/200 calls in one batch; the limit is 10/);
  });
});

describe('issue 9: what queued and finished runs keep in memory', () => {
  it('caps the bytes of queued requests, and finished runs keep no request', async () => {
    const sandbox = new FakeSandbox();
    const backend = new LocalRuns({ sandbox, logger: silentLogger, slots: 1, maxQueued: 150, maxQueuedBytes: 8 * 1024 * 1024 });
    const runs = new RunManager({ backend, logger: silentLogger, defaults: { timeoutMs: 5000, memoryMb: 128, vcpus: 1 } });
    cleanups.push(() => runs.dispose());
    const oneMiB = runCodeInputSchema.parse({ files: [{ path: 'main.py', content: 'z'.repeat(1024 * 1024) }] });
    let accepted = 0;
    let refused: unknown = null;
    for (let i = 0; i < 150 && refused === null; i++) {
      try {
        await runs.submit(oneMiB);
        accepted++;
      } catch (err) {
        refused = err;
      }
    }
    expect(refused).toMatchObject({ code: 'capacity_exceeded', message: expect.stringMatching(/MAX_QUEUED_BYTES/) as string });
    expect(accepted).toBeLessThanOrEqual(9);
    expect(runs.stats().queuedBytes).toBeLessThanOrEqual(8 * 1024 * 1024);
    // Let every run finish: nothing of their requests stays behind.
    sandbox.onRun = (run) => run.exit();
    for (const r of sandbox.runs) if (!r.ended) r.exit();
    await expect.poll(() => runs.stats().active + runs.stats().queued).toBe(0);
    expect(runs.stats()).toMatchObject({ queuedBytes: 0, heldRequestBytes: 0, retained: accepted });
  });

  it('bounds the replay kept by finished runs in total (MAX_RETAINED_REPLAY_BYTES), forgetting the oldest first', async () => {
    const sandbox = new FakeSandbox();
    sandbox.onRun = (run) => {
      run.start();
      run.push({ type: 'stdout', data: 'o'.repeat(256 * 1024) });
      run.exit();
    };
    const backend = new LocalRuns({ sandbox, logger: silentLogger, maxRetainedReplayBytes: 1024 * 1024 });
    const runs = new RunManager({ backend, logger: silentLogger, defaults: { timeoutMs: 5000, memoryMb: 128, vcpus: 1 } });
    cleanups.push(() => runs.dispose());
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      ids.push((await runs.submit(runCodeInputSchema.parse({ files }))).jobId);
      await expect.poll(() => runs.get(ids.at(-1) ?? '')?.state).toBe('finished');
    }
    expect(runs.stats().retainedReplayBytes).toBeLessThanOrEqual(1024 * 1024);
    expect(runs.get(ids[0] ?? '')).toBeUndefined();
    expect(runs.get(ids[9] ?? '')).toBeDefined();
  });
});

/** A finished run whose replay is `bytes` of stdout in 64 KiB chunks. */
const bigOutput = (bytes: number): FakeHandler => (req, res) => {
  if (req.path !== '/run') return void res.writeHead(202).end('{}');
  startNdjson(res, 'sbx-1');
  writeEvent(res, { type: 'start', jobId: 'sbx-1', vmId: 'vm', at: 1 });
  for (let sent = 0; sent < bytes; sent += 64 * 1024) writeEvent(res, { type: 'stdout', data: 'r'.repeat(64 * 1024) });
  writeEvent(res, exitOk);
  res.end();
};

describe('issue 9: the stream replay respects the per-socket cap', () => {
  it('sends a replay larger than STREAM_MAX_BUFFERED_BYTES as the reader keeps up, never queuing more than the cap', async () => {
    const cap = 256 * 1024;
    const replay = 24 * 1024 * 1024;
    const { gw } = await setup({ STREAM_REPLAY_BYTES: String(replay), STREAM_MAX_BUFFERED_BYTES: String(cap) }, bigOutput(replay));
    const { jobId } = await trpcClient(gw.url).runCode.mutate({ files });
    await expect.poll(() => gw.runs.get(jobId)?.state, { timeout: 20_000 }).toBe('finished');
    const stalled = await connectRaw(gw.url, `/stream/${jobId}`);
    cleanups.push(() => stalled.destroy());
    stalled.stall();
    await new Promise((r) => setTimeout(r, 300));
    expect(gw.streams.bufferedBytes).toBeLessThan(cap + 128 * 1024);
    const { texts, closeCode } = await stalled.drain();
    expect(closeCode).toBe(1000);
    const replayed = texts.map((t) => JSON.parse(t) as { type: string; event?: { type: string; data?: string } });
    expect(replayed.filter((m) => m.event?.type === 'stdout').reduce((n, m) => n + (m.event?.data?.length ?? 0), 0)).toBe(replay);
    expect(replayed.at(-1)).toMatchObject({ type: 'end', status: 'ok' });
  });
});

describe('issue 9: subscriber caps', () => {
  it('refuses subscribers beyond MAX_STREAM_SUBSCRIBERS_PER_RUN and MAX_STREAM_SOCKETS with 4429', async () => {
    const { gw } = await setup({ MAX_STREAM_SUBSCRIBERS_PER_RUN: '3', MAX_STREAM_SOCKETS: '5', MAX_WS_PER_ADDRESS: '100' });
    const api = trpcClient(gw.url);
    const a = (await api.runCode.mutate({ files })).jobId;
    const b = (await api.runCode.mutate({ files })).jobId;
    const open = (jobId: string) => {
      const s = openStream(gw.url, jobId);
      cleanups.push(() => s.ws.close());
      return s;
    };
    const onA = [open(a), open(a), open(a)];
    await Promise.all(onA.map((s) => s.waitFor((m) => m.type === 'hello')));
    const fourth = open(a);
    expect(await fourth.closed).toEqual({ code: 4429, reason: expect.stringMatching(/3 subscribers already watch this run/) as string });
    const onB = [open(b), open(b)];
    await Promise.all(onB.map((s) => s.waitFor((m) => m.type === 'hello')));
    const sixth = open(b);
    expect((await sixth.closed).code).toBe(4429);
    await expect.poll(() => gw.streams.connectionCount).toBe(5);
  });
});

describe('issue 9: slow clients and connection floods', () => {
  it('drops a client that never finishes its headers (HTTP_HEADERS_TIMEOUT_MS)', async () => {
    const { gw } = await setup({ HTTP_HEADERS_TIMEOUT_MS: '500' });
    const url = new URL(gw.url);
    const socket = connect(Number(url.port), url.hostname);
    cleanups.push(() => socket.destroy());
    await new Promise((r) => socket.once('connect', r));
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    const started = Date.now();
    await new Promise((r) => socket.once('close', r));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(answer).toMatch(/^HTTP\/1.1 408/);
  });

  it('caps TCP connections per address (MAX_CONNECTIONS_PER_ADDRESS)', async () => {
    const { gw } = await setup({ MAX_CONNECTIONS_PER_ADDRESS: '4' });
    const url = new URL(gw.url);
    const sockets: Socket[] = [];
    for (let i = 0; i < 4; i++) {
      const s = connect(Number(url.port), url.hostname);
      sockets.push(s);
      cleanups.push(() => s.destroy());
      await new Promise((r) => s.once('connect', r));
    }
    const extra = connect(Number(url.port), url.hostname);
    cleanups.push(() => extra.destroy());
    extra.on('error', () => undefined);
    extra.resume();
    await new Promise((r) => extra.once('close', r));
    sockets[0]?.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });

  it('caps WebSockets per address (MAX_WS_PER_ADDRESS) with a clear 429', async () => {
    const { gw } = await setup({ MAX_WS_PER_ADDRESS: '2' });
    const open: WebSocket[] = [];
    for (let i = 0; i < 2; i++) {
      const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/collab?protocolVersion=1`);
      open.push(ws);
      cleanups.push(() => ws.close());
      await new Promise((r) => ws.once('open', r));
    }
    const third = await tryUpgrade(gw.url, '/collab?protocolVersion=1');
    expect(third.status).toBe(429);
    expect(third.body).toMatch(/2 WebSocket connections from your address/);
    open[0]?.close();
    await expect.poll(async () => (await tryUpgrade(gw.url, '/collab?protocolVersion=1')).status).toBe(101);
  });
});
