import type { ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runtimeInfos } from '@codecell/protocol';
import type { RunEvent } from '@codecell/protocol';
import { SandboxClient } from './sandboxClient.js';
import { sendError, startFakeSandboxServer, startNdjson, writeEvent } from './test/fakeSandboxServer.js';
import type { FakeSandboxServer } from './test/fakeSandboxServer.js';

const body = { language: 'py', source: 'print(1)' } as const;
const exit = { type: 'exit', code: 0, signal: null, status: 'ok', cpuMs: 1, wallMs: 2, maxRssKb: 3 } as const;

let fake: FakeSandboxServer | undefined;
let client: SandboxClient | undefined;
afterEach(async () => {
  client?.dispose();
  await fake?.close();
  fake = undefined;
  client = undefined;
});

async function setup(handler: FakeSandboxServer['handler'], timeoutMs?: number): Promise<SandboxClient> {
  fake = await startFakeSandboxServer(handler);
  client = new SandboxClient({ baseUrl: fake.url, ...(timeoutMs ? { requestTimeoutMs: timeoutMs } : {}) });
  return client;
}

describe('SandboxClient', () => {
  it('streams NDJSON events as they arrive, even when lines are split across chunks', async () => {
    let finish: () => void = () => undefined;
    const c = await setup((_req, res) => {
      startNdjson(res, 'job-1');
      res.write('{"type":"start","jobId":"job-1",');
      res.write('"vmId":"vm","at":1}\n{"type":"stdout","data":"hi\\n"}\n');
      finish = () => {
        writeEvent(res, exit);
        res.end();
      };
    });
    const run = await c.run(body);
    expect(run.jobId).toBe('job-1');
    const seen: RunEvent[] = [];
    for await (const ev of run.events) {
      seen.push(ev);
      // The exit is only written after the client has seen stdout: proves streaming.
      if (ev.type === 'stdout') finish();
    }
    expect(seen.map((e) => e.type)).toEqual(['start', 'stdout', 'exit']);
    expect(fake?.requests[0]?.body).toEqual(body);
  });

  it('sends every request under the base path of its address (a proxy in front of the sandbox)', async () => {
    fake = await startFakeSandboxServer((_req, res) => {
      startNdjson(res, 'job-p');
      writeEvent(res, exit);
      res.end();
    });
    client = new SandboxClient({ baseUrl: `${fake.url.replace('127.0.0.1', 'localhost')}/sbx/` });
    const run = await client.run(body);
    for await (const _ of run.events);
    await expect(client.kill('job-p')).rejects.toMatchObject({ code: 'sandbox_unavailable' });
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /sbx/run', 'POST /sbx/run/job-p/kill']);
  });

  it('keeps the code and message of the sandbox 4xx errors', async () => {
    const c = await setup((_req, res) => sendError(res, 413, { code: 'source_too_large', message: 'source is 2 MB; the limit is 1 MB (MAX_SOURCE_BYTES)' }));
    await expect(c.run(body)).rejects.toMatchObject({ code: 'source_too_large', message: 'source is 2 MB; the limit is 1 MB (MAX_SOURCE_BYTES)' });
    await expect(c.sendStdin('x', { data: '' })).rejects.toMatchObject({ code: 'source_too_large' });
  });

  it('maps 5xx to sandbox_unavailable', async () => {
    const c = await setup((_req, res) => sendError(res, 500, { code: 'internal_error', message: 'boom' }));
    await expect(c.kill('x')).rejects.toMatchObject({ code: 'sandbox_unavailable', message: expect.stringMatching(/is not reachable: HTTP 500 \(internal_error: boom\)/) as string });
  });

  it('maps connection refused to sandbox_unavailable naming the address', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address() as AddressInfo;
    await new Promise<void>((r) => srv.close(() => r()));
    client = new SandboxClient({ baseUrl: `http://127.0.0.1:${port}` });
    await expect(client.run(body)).rejects.toMatchObject({
      code: 'sandbox_unavailable',
      message: expect.stringMatching(new RegExp(`^the sandbox at http://127.0.0.1:${port} is not reachable: .*ECONNREFUSED`)) as string,
    });
    await expect(client.health()).rejects.toMatchObject({ code: 'sandbox_unavailable' });
  });

  it('maps a connection reset mid-stream to sandbox_unavailable', async () => {
    const c = await setup((_req, res) => {
      startNdjson(res, 'job-2');
      writeEvent(res, { type: 'start', jobId: 'job-2', vmId: 'vm', at: 1 });
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const run = await c.run(body);
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const ev of run.events) seen.push(ev.type);
      })(),
    ).rejects.toMatchObject({ code: 'sandbox_unavailable', message: expect.stringMatching(/connection broke/) as string });
    expect(seen).toEqual(['start']);
  });

  it('rejects a malformed event line with internal_error', async () => {
    const c = await setup((_req, res) => {
      startNdjson(res, 'job-3');
      res.end('{"type":"stdout"}\n');
    });
    const run = await c.run(body);
    await expect(run.events[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'internal_error' });
  });

  it('closes the connection when the caller aborts or stops iterating (the sandbox then kills the run)', async () => {
    let closed = 0;
    const c = await setup((_req, res) => {
      startNdjson(res, 'job-4');
      writeEvent(res, { type: 'start', jobId: 'job-4', vmId: 'vm', at: 1 });
      res.on('close', () => closed++);
    });
    const run = await c.run(body);
    for await (const ev of run.events) if (ev.type === 'start') break;
    const ac = new AbortController();
    const run2 = await c.run(body, ac.signal);
    const it2 = run2.events[Symbol.asyncIterator]();
    await it2.next();
    ac.abort();
    await expect(it2.next()).rejects.toThrow();
    await expect.poll(() => closed).toBe(2);
  });

  /** A run answered at once: start, then exit. */
  const answer = (res: ServerResponse, jobId: string): void => {
    startNdjson(res, jobId);
    writeEvent(res, { type: 'start', jobId, vmId: 'vm', at: 1 });
    writeEvent(res, exit);
    res.end();
  };
  const drain = async (run: { events: AsyncIterable<RunEvent> }): Promise<string[]> => {
    const seen: string[] = [];
    for await (const ev of run.events) seen.push(ev.type);
    return seen;
  };

  it('sends runs one after another on one kept-alive connection', async () => {
    const c = await setup((_req, res) => answer(res, 'job-k'));
    await drain(await c.run(body));
    // As the gateway reads a run: up to its exit, not the stream's end.
    for await (const ev of (await c.run(body)).events) if (ev.type === 'exit') break;
    await new Promise((r) => setTimeout(r, 20)); // the stream's end, read after the exit
    await c.sendStdin('job-k', { data: 'x' }).catch(() => undefined);
    const connections = new Set(fake?.requests.map((r) => r.raw.socket));
    expect(fake?.requests).toHaveLength(3);
    expect(connections.size).toBe(1);
  });

  it("aborting a run that ended leaves its connection alone, even when the next run has it", async () => {
    let release: () => void = () => undefined;
    const c = await setup((req, res) => {
      if ((req.body as { source: string }).source === 'late-end') {
        startNdjson(res, 'job-l');
        writeEvent(res, exit);
        return void setTimeout(() => res.end(), 30); // the stream ends a little after its exit
      }
      if ((req.body as { source: string }).source !== 'slow') return answer(res, 'job-a');
      startNdjson(res, 'job-slow');
      writeEvent(res, { type: 'start', jobId: 'job-slow', vmId: 'vm', at: 1 });
      release = () => {
        writeEvent(res, exit);
        res.end();
      };
    });
    const early = new AbortController();
    for await (const ev of (await c.run({ ...body, source: 'late-end' }, early.signal)).events) if (ev.type === 'exit') break;
    early.abort(); // at once, as the relay does: the stream's end has not arrived yet
    await new Promise((r) => setTimeout(r, 60));
    const first = new AbortController();
    for await (const ev of (await c.run(body, first.signal)).events) if (ev.type === 'exit') break;
    await new Promise((r) => setTimeout(r, 20));
    const slow = (await c.run({ ...body, source: 'slow' })).events[Symbol.asyncIterator]();
    expect((await slow.next()).value).toMatchObject({ type: 'start' });
    first.abort(); // as the relay does once a run is over
    await new Promise((r) => setTimeout(r, 20));
    release();
    expect((await slow.next()).value).toMatchObject({ type: 'exit' });
    expect(new Set(fake?.requests.map((r) => r.raw.socket)).size).toBe(1);
  });

  it('sends a run again on a new connection when the sandbox dropped the kept-alive one under it, and only then', async () => {
    const seen = new Set<unknown>();
    let dropped = 0;
    const c = await setup((req, res) => {
      const socket = req.raw.socket;
      // The second request on a connection is dropped unanswered, as a sandbox closing an idle connection does.
      if (seen.has(socket)) {
        dropped++;
        return void socket.destroy();
      }
      seen.add(socket);
      answer(res, 'job-r');
    });
    await drain(await c.run(body));
    expect(await drain(await c.run(body))).toEqual(['start', 'exit']);
    expect(dropped).toBe(1);
    expect(fake?.requests).toHaveLength(3);
    // Broken after the answer began: an error, not a second run.
    let runs = 0;
    fake!.handler = (_req, res) => {
      runs++;
      startNdjson(res, 'job-b');
      setTimeout(() => res.socket?.destroy(), 10);
    };
    await expect(drain(await c.run(body))).rejects.toMatchObject({ code: 'sandbox_unavailable' });
    expect(runs).toBe(1);
  });

  it('never sends a run again once its answer began, even on a reused connection', async () => {
    let runs = 0;
    const c = await setup((_req, res) => {
      runs++;
      if (runs === 1) return answer(res, 'job-1');
      // The second run, on the kept-alive connection: headers and a first event, then the sandbox goes away.
      startNdjson(res, 'job-2');
      writeEvent(res, { type: 'start', jobId: 'job-2', vmId: 'vm', at: 1 });
      setTimeout(() => res.socket?.resetAndDestroy(), 20); // a reset (RST), as a crash leaves it
    });
    await drain(await c.run(body));
    await new Promise((r) => setTimeout(r, 20));
    const ac = new AbortController();
    await expect(drain(await c.run(body, ac.signal))).rejects.toMatchObject({ code: 'sandbox_unavailable' });
    ac.abort(); // as the relay does when a run ends
    await new Promise((r) => setTimeout(r, 100));
    expect(runs).toBe(2);
  });

  it('closes an idle kept-alive connection itself, before the sandbox would', async () => {
    client = new SandboxClient({ baseUrl: (fake = await startFakeSandboxServer((_req, res) => answer(res, 'job-i'))).url, idleSocketMs: 100 });
    await drain(await client.run(body));
    const socket = fake.requests[0]!.raw.socket;
    const t0 = Date.now();
    await new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
    // Kept open at first (not closed once answered), then closed by the client: the server's own keep-alive timeout is 5 s.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(50);
    expect(socket.destroyed).toBe(true);
  }, 3_000);

  it('times out a sandbox that never answers', async () => {
    const c = await setup(() => undefined, 200);
    await expect(c.run(body)).rejects.toMatchObject({ code: 'sandbox_unavailable', message: expect.stringMatching(/no answer .*within 200 ms/) as string });
    await expect(c.health()).rejects.toMatchObject({ code: 'sandbox_unavailable' });
  });

  it('reads health even from a 503 answer', async () => {
    const health = {
      ok: true, driver: 'fake', acceleration: 'none', accelerationReason: 'test', ready: false,
      pool: { idle: 0, starting: 1, attached: 0, target: 1, mode: 'boot', guestMemoryMb: 0 },
      runs: { active: 0, queued: 0, total: 0 },
      limits: { timeoutMs: 1, maxTimeoutMs: 1, memoryMb: 1, maxMemoryMb: 1, vcpus: 1, maxVcpus: 1, outputBytes: 1, maxSessions: 1, maxGuestMemoryMb: 1 },
      hostCgroups: { mode: 'none', memoryLimitMb: null, warning: 'host cgroups are unavailable' },
      version: '0.1.0',
      python: null,
    };
    const c = await setup((_req, res) => void res.writeHead(503, { 'Content-Type': 'application/json' }).end(JSON.stringify(health)));
    await expect(c.health()).resolves.toEqual(health);
  });

  it('reads GET /runtimes as the sandbox writes it, skipping entries it cannot read; a sandbox without it is not_found', async () => {
    const body = { runtimes: [...runtimeInfos({ py: '3.11.2', go: '1.19.8' }), { id: 'zig', version: '0.11', extra: true }, { id: 'bad' }] };
    const c = await setup((req, res) => {
      if (req.path === '/runtimes' && req.method === 'GET') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
      sendError(res, 404, { code: 'not_found', message: `no route ${req.method} ${req.path}` });
    });
    const listed = await c.runtimes();
    expect(listed.find((r) => r.id === 'go')).toEqual({ id: 'go', version: '1.19.8' });
    expect(listed.find((r) => r.id === 'rs')).toEqual({ id: 'rs', version: 'unknown' });
    expect(listed.find((r) => r.id === 'zig')).toEqual({ id: 'zig', version: '0.11' });
    expect(listed).toHaveLength(11);
    fake!.handler = (_req, res) => sendError(res, 404, { code: 'not_found', message: 'no route GET /runtimes; routes are POST /run, GET /healthz' });
    await expect(c.runtimes()).rejects.toMatchObject({ code: 'not_found' });
    fake!.handler = (_req, res) => void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"nope":1}');
    await expect(c.runtimes()).rejects.toMatchObject({ code: 'internal_error', message: expect.stringMatching(/without a runtime list/) as string });
  });
});
