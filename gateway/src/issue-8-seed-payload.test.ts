/**
 * Issue 8: the seed's README says the frontend calls `runCode` with
 * `{ "language": "py", "source": "print('hello')" }`. Sent as raw HTTP to
 * `POST /trpc/runCode`, it must run `main.py` and stream on `/stream/<jobId>`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { createGateway } from './server.js';
import { captureLogger } from './test/captureLogger.js';
import { openStream, stdoutOf } from './test/clients.js';
import { startFakeSandboxServer, startNdjson, writeEvent } from './test/fakeSandboxServer.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** POSTs `body` to `/trpc/runCode` as JSON and returns the status and parsed answer. */
async function postRunCode(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${url}/trpc/runCode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

describe('issue 8: the seed payload through runCode', () => {
  it('{language, source} runs main.py with that source, and /stream carries its output', async () => {
    const fake = await startFakeSandboxServer((req, res) => {
      if (req.path !== '/run') return void res.writeHead(202).end('{}');
      const body = req.body as { source: string; entry: string };
      startNdjson(res, 'sbx-1');
      writeEvent(res, { type: 'start', jobId: 'sbx-1', vmId: 'vm', at: 1 });
      // The fake "runs" print('...') by echoing its argument, so the test sees the source arrived intact.
      writeEvent(res, { type: 'stdout', data: `${/print\('(.*)'\)/.exec(body.source)?.[1] ?? '?'}\n` });
      writeEvent(res, { type: 'exit', code: 0, signal: null, status: 'ok', cpuMs: 1, wallMs: 2, maxRssKb: 3 });
      res.end();
    });
    cleanups.push(() => fake.close());
    const gw = await createGateway(loadConfig({ PORT: '0', SANDBOX_ADDR: fake.url, COLLAB_DB: ':memory:' }), captureLogger().logger);
    cleanups.push(() => gw.close());

    const { status, json } = await postRunCode(gw.url, { language: 'py', source: "print('hello')" });
    expect(status).toBe(200);
    const jobId = (json as { result: { data: { jobId: string } } }).result.data.jobId;
    const s = openStream(gw.url, jobId);
    await s.closed;
    expect(stdoutOf(s.messages)).toBe('hello\n');
    const sent = fake.requests.find((r) => r.path === '/run')?.body as { source: string; entry: string; files?: unknown };
    expect(sent).toMatchObject({ language: 'py', source: "print('hello')", entry: 'main.py' });
    expect(sent.files).toBeUndefined();
  });

  it('source and files together are refused with a message that says so', async () => {
    const fake = await startFakeSandboxServer((_req, res) => void res.writeHead(500).end());
    cleanups.push(() => fake.close());
    const gw = await createGateway(loadConfig({ PORT: '0', SANDBOX_ADDR: fake.url, COLLAB_DB: ':memory:' }), captureLogger().logger);
    cleanups.push(() => gw.close());
    const { status, json } = await postRunCode(gw.url, { language: 'py', source: 'print(1)', files: [{ path: 'main.py', content: 'print(2)' }] });
    expect(status).toBe(400);
    expect(json).toMatchObject({
      error: { message: 'invalid input: source: give either source (a one-file run) or files, not both', data: { codecellCode: 'invalid_request' } },
    });
    expect(fake.requests).toHaveLength(0);
  });
});
