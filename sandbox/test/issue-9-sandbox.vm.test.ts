/**
 * Issue 9 against real microVMs over real HTTP: MAX_SESSIONS refuses a new
 * session while the others are busy and evicts the least recently used idle
 * one, a web page's request boots nothing, and `/healthz` reports the host
 * cgroups (loudly, when there are none) and the new limits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBodySchema, healthSchema, runEventSchema } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import { silentLogger } from '@codecell/server-kit';
import { loadConfig } from '../src/config.js';
import { createSandbox } from '../src/server/createSandbox.js';
import type { Sandbox } from '../src/server/createSandbox.js';
import { detectCgroupMode } from '../src/vmm/hostCgroup.js';
import { childProcesses } from './leftovers.js';
import { summarize } from './runHelpers.js';

let sb: Sandbox;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cc-issue9-vm-'));
  sb = await createSandbox(loadConfig({ POOL_SIZE: '1', SANDBOX_RUN_DIR: dir, MAX_SESSIONS: '2', SANDBOX_TOKEN_FILE: join(dir, 'sandbox.token') }), silentLogger);
  await sb.listen(0, '127.0.0.1');
});
afterAll(async () => {
  await sb?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const headers = (): Record<string, string> => ({ authorization: `Bearer ${sb.token}`, 'content-type': 'application/json' });

function run(body: object): Promise<Response> {
  return fetch(`${sb.url()}/run`, { method: 'POST', headers: headers(), body: JSON.stringify({ language: 'py', ...body }) });
}

const parse = (text: string) =>
  summarize(
    text
      .split('\n')
      .filter(Boolean)
      .map((l) => runEventSchema.parse(JSON.parse(l))),
  );

/** A streamed run: read until its stdout contains `text`, then (later) to its end. */
function reader(res: Response) {
  const r = (res.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  const more = async (): Promise<boolean> => {
    const chunk = await r.read();
    if (chunk.done) return false;
    text += Buffer.from(chunk.value).toString('utf8');
    return true;
  };
  return {
    until: async (stdout: string) => {
      while (!parse(text.slice(0, text.lastIndexOf('\n') + 1)).stdout.includes(stdout)) if (!(await more())) throw new Error(`ended before printing ${stdout}: ${text}`);
    },
    end: async () => {
      while (await more());
      return parse(text);
    },
  };
}

async function eventsOf(res: Response) {
  return parse(await res.text());
}

describe('issue 9: MAX_SESSIONS with real VMs', () => {
  it('refuses a third session with 429 while two are busy, then evicts the least recently used idle one', async () => {
    const sleeper = { source: 'import time\nprint("up", flush=True)\ntime.sleep(60)', limits: { timeoutMs: 60_000 } };
    const a = await run({ ...sleeper, sessionId: 'issue9-a' });
    const b = await run({ ...sleeper, sessionId: 'issue9-b' });
    expect([a.status, b.status]).toEqual([200, 200]);
    const ra = reader(a);
    const rb = reader(b);
    await Promise.all([ra.until('up'), rb.until('up')]);
    const refused = await run({ source: 'print(1)', sessionId: 'issue9-c' });
    expect(refused.status).toBe(429);
    const err = errorBodySchema.parse(await refused.json());
    expect(err.error).toMatchObject({ code: 'capacity_exceeded', message: expect.stringMatching(/all 2 session VMs are busy.*MAX_SESSIONS/) as string });

    const kill = await fetch(`${sb.url()}/run/${a.headers.get('x-job-id') ?? ''}/kill`, { method: 'POST', headers: headers(), body: '{}' });
    expect(kill.status).toBe(202);
    expect((await ra.end()).exit?.status).toBe('killed');
    const c = await eventsOf(await run({ source: 'print("c ran")', sessionId: 'issue9-c' }));
    expect(c.stdout).toBe('c ran\n');
    expect(sb.sessions.size).toBe(2); // a was evicted for c
    await fetch(`${sb.url()}/run/${b.headers.get('x-job-id') ?? ''}/kill`, { method: 'POST', headers: headers(), body: '{}' });
    expect((await rb.end()).exit?.status).toBe('killed');
  });

  it('boots nothing for a text/plain POST from a web page', async () => {
    const before = { runs: sb.runs.stats().total, vms: childProcesses(process.pid, /^qemu-system/).length };
    const res = await fetch(`${sb.url()}/run`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'https://evil.example' },
      body: JSON.stringify({ language: 'py', source: 'print("pwned")', sessionId: 'issue9-evil' }),
    });
    expect(res.status).toBe(403);
    expect(sb.runs.stats().total).toBe(before.runs);
    expect(childProcesses(process.pid, /^qemu-system/).length).toBeLessThanOrEqual(before.vms);
  });

  it('reports host cgroups, MAX_SESSIONS and guest memory in /healthz, without the token', async () => {
    const res = await fetch(`${sb.url()}/healthz`);
    const text = await res.text();
    const h = healthSchema.parse(JSON.parse(text));
    expect(h.hostCgroups.mode).toBe(detectCgroupMode());
    if (h.hostCgroups.mode !== 'none') {
      expect(h.hostCgroups.warning).toBeNull();
      expect(h.hostCgroups.memoryLimitMb).toBeGreaterThan(0);
    }
    expect(h.limits.maxSessions).toBe(2);
    expect(h.pool.guestMemoryMb).toBeGreaterThan(0);
    expect(h.pool.guestMemoryMb).toBeLessThanOrEqual(h.limits.maxGuestMemoryMb);
    expect(text).not.toContain(sb.token);
    expect(text).not.toContain('issue9-');
  });
});

describe('issue 9: a host without cgroups', () => {
  it('says so at start (error level, what is lost, how to fix) and in /healthz', async () => {
    const errors: string[] = [];
    const logger: Logger = { ...silentLogger, error: (msg) => void errors.push(msg) };
    const base = mkdtempSync(join(tmpdir(), 'cc-issue9-nocg-'));
    const bare = await createSandbox(loadConfig({ POOL_SIZE: '0', SANDBOX_RUN_DIR: base, SANDBOX_TOKEN_FILE: join(base, 'sandbox.token') }), logger, { cgroupMode: 'none' });
    try {
      expect(errors.find((m) => m.startsWith('host cgroups are unavailable'))).toMatch(/without host memory, CPU and process limits.*Fix:/);
      const h = bare.health();
      expect(h.hostCgroups).toMatchObject({ mode: 'none', memoryLimitMb: null, warning: expect.stringMatching(/Fix:/) as string });
    } finally {
      await bare.dispose();
      rmSync(base, { recursive: true, force: true });
    }
  });
});
