/**
 * Issue 12 over the sandbox's HTTP API (fake VMM): `tty` runs report their
 * size and take `POST /run/<jobId>/resize`; pipe runs refuse it with
 * `not_a_terminal`; bad sizes and programs get `invalid_request`; `POST
 * /terminal` streams a session like a run, at most 4 per session.
 */
import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { errorBodySchema, runEventSchema } from '@codecell/protocol';
import type { RunEvent } from '@codecell/protocol';
import { fakeCore } from '../../test/fakeVmm/fakeCore.js';
import { listenOnLoopback } from '../../test/listenOnLoopback.js';
import { until } from '../../test/runHelpers.js';
import { testSandboxServer } from '../../test/testSandboxServer.js';

const TOKEN = 'issue-12-test-token-0123456789abcdef';
const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const core = fakeCore({ env: { MAX_SESSIONS: '4' }, poolTarget: 0, mode: 'boot' });
  const server = testSandboxServer({ runs: core.runs, token: TOKEN });
  const port = await listenOnLoopback(server, cleanups, () => core.dispose());
  /** A POST whose answer is read whole. */
  const post = (path: string, body: unknown) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  /** A streamed POST (/run, /terminal): its job id and the events so far, while it goes on. */
  const open = (path: string, body: unknown) =>
    new Promise<{ status: number; jobId: string; events: RunEvent[]; res: IncomingMessage }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path, headers }, (res) => {
        const events: RunEvent[] = [];
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            events.push(runEventSchema.parse(JSON.parse(buf.slice(0, nl))));
            buf = buf.slice(nl + 1);
          }
        });
        cleanups.push(() => void res.destroy());
        resolve({ status: res.statusCode ?? 0, jobId: String(res.headers['x-job-id'] ?? ''), events, res });
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  return { post, open };
}

const codeOf = (body: string): string => errorBodySchema.parse(JSON.parse(body)).error.code;

describe('issue 12: terminal routes of the sandbox', () => {
  it('a tty run reports its size after start and after POST /run/<jobId>/resize', async () => {
    const { post, open } = await setup();
    const run = await open('/run', { language: 'py', source: 'deaf', tty: { cols: 120, rows: 40 } });
    expect(run.status).toBe(200);
    await until(() => run.events.some((e) => e.type === 'size'));
    expect(run.events.map((e) => e.type).slice(0, 2)).toEqual(['start', 'size']);
    expect(run.events[1]).toEqual({ type: 'size', cols: 120, rows: 40 });
    const resized = await post(`/run/${run.jobId}/resize`, { cols: 100, rows: 30 });
    expect(resized.status).toBe(202);
    expect(JSON.parse(resized.body)).toEqual({ jobId: run.jobId, cols: 100, rows: 30 });
    await until(() => run.events.filter((e) => e.type === 'size').length === 2);
    expect(run.events.at(-1)).toEqual({ type: 'size', cols: 100, rows: 30 });
    const bad = await post(`/run/${run.jobId}/resize`, { cols: 0, rows: 30 });
    expect(bad.status).toBe(400);
    expect(codeOf(bad.body)).toBe('invalid_request');
    expect(JSON.parse(bad.body).error.message).toMatch(/cols must be at least 1/);
  });

  it('a pipe run refuses a resize with 409 not_a_terminal', async () => {
    const { post, open } = await setup();
    const run = await open('/run', { language: 'py', source: 'deaf' });
    await until(() => run.events.some((e) => e.type === 'start'));
    const res = await post(`/run/${run.jobId}/resize`, { cols: 100, rows: 30 });
    expect(res.status).toBe(409);
    expect(codeOf(res.body)).toBe('not_a_terminal');
    expect(run.events.some((e) => e.type === 'size')).toBe(false);
  });

  it('POST /terminal streams a session like a run, refuses unknown programs, and holds 4 per session', async () => {
    const { post, open } = await setup();
    expect(codeOf((await post('/terminal', { sessionId: 's1', program: 'zsh' })).body)).toBe('invalid_request');
    expect(codeOf((await post('/terminal', { sessionId: 's1', program: 'bash', limits: { idleTimeoutMs: 99_999_999 } })).body)).toBe('limit_exceeded');
    const sessions: Array<Awaited<ReturnType<typeof open>>> = [];
    for (let i = 0; i < 4; i++) sessions.push(await open('/terminal', { sessionId: 's1', program: 'bash', size: { cols: 90, rows: 20 } }));
    expect(sessions.map((s) => s.status)).toEqual([200, 200, 200, 200]);
    await until(() => sessions.every((s) => s.events.some((e) => e.type === 'size')));
    expect(sessions[0]?.events.find((e) => e.type === 'size')).toEqual({ type: 'size', cols: 90, rows: 20 });
    const fifth = await post('/terminal', { sessionId: 's1', program: 'python' });
    expect(fifth.status).toBe(429);
    expect(codeOf(fifth.body)).toBe('capacity_exceeded');
    // Another session is not affected, and the session's runs do not wait for its terminals.
    expect((await open('/terminal', { sessionId: 's2', program: 'node' })).status).toBe(200);
    const run = await post('/run', { language: 'py', source: 'print:beside\n', sessionId: 's1' });
    expect(run.body).toContain('beside');
  });
});
