/**
 * `POST /run` and friends over real HTTP, against real QEMU microVMs.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_IDS, errorBodySchema, healthSchema, runEventSchema, runtimesResponseSchema } from '@codecell/protocol';
import { defaultCacheDir, guestImage, readManifest } from '@codecell/guest';
import type { RunEvent } from '@codecell/protocol';
import { loadConfig } from '../src/config.js';
import { createSandbox } from '../src/server/createSandbox.js';
import type { Sandbox } from '../src/server/createSandbox.js';
import { silentLogger } from '@codecell/server-kit';
import { summarize } from './runHelpers.js';

let sb: Sandbox;
let base: string;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cc-http-'));
  sb = await createSandbox(loadConfig({ POOL_SIZE: '1', SANDBOX_RUN_DIR: dir, MAX_SOURCE_BYTES: '100000' }), silentLogger);
  await sb.listen(0, '127.0.0.1');
  base = sb.url();
});
afterAll(async () => {
  await sb?.dispose();
});

/** The gateway's headers: the token and a JSON body. */
const gatewayHeaders = (): Record<string, string> => ({ Authorization: `Bearer ${sb.token}`, 'Content-Type': 'application/json' });

/** POSTs raw bytes (as the gateway, unless `headers` say otherwise) and returns status, headers and body. */
function post(path: string, body: string | Buffer, headers: Record<string, string> = gatewayHeaders()) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = request(`${base}${path}`, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function ndjson(body: string): RunEvent[] {
  return body
    .split('\n')
    .filter(Boolean)
    .map((l) => runEventSchema.parse(JSON.parse(l)));
}

async function expectError(res: { status: number; body: string }, status: number, code: string): Promise<string> {
  expect(res.status).toBe(status);
  const parsed = errorBodySchema.parse(JSON.parse(res.body));
  expect(parsed.error.code).toBe(code);
  expect(parsed.error.message).not.toMatch(/\n\s+at /); // never a stack trace
  return parsed.error.message;
}

describe('POST /run over HTTP', () => {
  it('streams NDJSON events of a run (the README curl example)', async () => {
    const res = await post('/run', '{"language":"py","source":"print(\\"hello\\")"}');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('application/x-ndjson');
    const events = ndjson(res.body);
    expect(events[0]?.type).toBe('start');
    expect(res.headers['x-job-id']).toBe(events[0]?.type === 'start' ? events[0].jobId : undefined);
    const s = summarize(events);
    expect(s.stdout).toBe('hello\n');
    expect(s.exit?.status).toBe('ok');
  });

  it('serves /healthz with driver, acceleration and pool', async () => {
    const res = await fetch(`${base}/healthz`);
    const h = healthSchema.parse(await res.json());
    expect(h.driver).toBe('qemu');
    expect(['kvm', 'tcg']).toContain(h.acceleration);
    expect(h.accelerationReason.length).toBeGreaterThan(0);
  });

  it('serves GET /runtimes (with the token): every runtime with the version the image manifest records', async () => {
    expect((await fetch(`${base}/runtimes`)).status).toBe(401);
    const res = await fetch(`${base}/runtimes`, { headers: { Authorization: `Bearer ${sb.token}` } });
    expect(res.status).toBe(200);
    const body = runtimesResponseSchema.parse(await res.json());
    expect(body.runtimes.map((r) => r.id)).toEqual([...RUNTIME_IDS]);
    const manifest = readManifest(guestImage(defaultCacheDir()));
    for (const r of body.runtimes) expect(r.version, r.id).toBe(manifest.runtimes[r.id].version);
    expect(body.runtimes.find((r) => r.id === 'py')?.version).toMatch(/^3\.11\.\d+$/);
    expect(body.runtimes.find((r) => r.id === 'go')?.version).toMatch(/^1\.19\./);
    await expectError(await post('/runtimes', '{}'), 405, 'method_not_allowed');
  });

  it('takes stdin and kill through POST /run/<jobId>/stdin and /kill', async () => {
    const res = fetch(`${base}/run`, {
      method: 'POST',
      headers: gatewayHeaders(),
      body: JSON.stringify({ language: 'py', source: 'print("got", input())\nwhile True: pass', limits: { timeoutMs: 30_000 } }),
    });
    const r = await res;
    const jobId = r.headers.get('x-job-id') as string;
    expect(jobId).toBeTruthy();
    const stdin = await post(`/run/${jobId}/stdin`, JSON.stringify({ data: 'abc\n' }));
    expect(stdin.status).toBe(202);
    const reader = r.body?.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    let text = '';
    const stdoutSoFar = (): string => summarize(ndjson(text.slice(0, text.lastIndexOf('\n') + 1))).stdout;
    while (!stdoutSoFar().includes('got abc')) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += Buffer.from(chunk.value).toString('utf8');
    }
    const kill = await post(`/run/${jobId}/kill`, "");
    expect(kill.status).toBe(202);
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += Buffer.from(chunk.value).toString('utf8');
    }
    const s = summarize(ndjson(text));
    expect(s.stdout).toBe('got abc\n');
    expect(s.exit?.status).toBe('killed');
    await expectError(await post(`/run/${jobId}/stdin`, '{"data":"late"}'), 409, 'run_finished');
  });

  it('rejects bad requests with stable codes and messages that say what to change', async () => {
    await expectError(await post('/run', '{"language":'), 400, 'bad_json');
    await expectError(await post('/run', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 400, 'bad_json');
    await expectError(await post('/run', '[]'), 400, 'invalid_request');
    await expectError(await post('/run', '{"language":"py"}'), 400, 'invalid_request');
    await expectError(await post('/run', '{"language":"py","source":1}'), 400, 'invalid_request');
    await expectError(await post('/run', '{"language":"py","source":"","extra":1}'), 400, 'invalid_request');
    const lang = await expectError(await post('/run', '{"language":"cobol","source":""}'), 400, 'unsupported_language');
    expect(lang).toContain('py');
    const big = await expectError(await post('/run', JSON.stringify({ language: 'py', source: 'x'.repeat(150_000) })), 413, 'source_too_large');
    expect(big).toContain('MAX_SOURCE_BYTES');
    await expectError(await post('/run', JSON.stringify({ language: 'py', source: '', files: [{ path: '../etc/passwd', content: '' }] })), 400, 'invalid_path');
    await expectError(await post('/run', JSON.stringify({ language: 'py', source: '', files: [{ path: '/abs', content: '' }] })), 400, 'invalid_path');
    const lim = await expectError(await post('/run', JSON.stringify({ language: 'py', source: '', limits: { memoryMb: 100_000 } })), 400, 'limit_exceeded');
    expect(lim).toContain('MAX_MEM_MB');
    await expectError(await post('/run', JSON.stringify({ language: 'py', source: '', limits: { timeoutMs: -1 } })), 400, 'invalid_request');
    await expectError(await post('/run/nope/stdin', '{"data":"x"}'), 404, 'not_found');
    await expectError(await post('/run/nope/kill', ''), 404, 'not_found');
    await expectError(await post('/nowhere', ''), 404, 'not_found');
    const get = await fetch(`${base}/run`, { headers: gatewayHeaders() });
    await expectError({ status: get.status, body: await get.text() }, 405, 'method_not_allowed');
    // Still healthy after all that.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('kills the run when the client disconnects', async () => {
    const ac = new AbortController();
    const res = await fetch(`${base}/run`, {
      method: 'POST',
      headers: gatewayHeaders(),
      body: JSON.stringify({ language: 'py', source: 'while True: pass', limits: { timeoutMs: 30_000 } }),
      signal: ac.signal,
    });
    const jobId = res.headers.get('x-job-id') as string;
    await new Promise((r) => setTimeout(r, 200));
    ac.abort();
    const deadline = Date.now() + 5_000;
    while (sb.runs.get(jobId).state !== 'finished' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(sb.runs.get(jobId).state).toBe('finished');
  });
});
