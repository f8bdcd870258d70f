/**
 * Issue 5: bad input at the gateway's boundaries gets a stable code and never
 * a crash: oversized WebSocket frames, floods of runs, malformed procedure
 * input, garbage on the wire.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { TRPCClientError } from '@trpc/client';
import { loadConfig } from './config.js';
import { createGateway } from './server.js';
import type { Gateway } from './server.js';
import { captureLogger } from './test/captureLogger.js';
import { trpcClient } from './test/clients.js';
import { startFakeSandboxServer } from './test/fakeSandboxServer.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A gateway whose sandbox accepts runs and never answers (runs stay active). */
async function setup(env: Record<string, string> = {}, sandboxSlots?: number): Promise<Gateway> {
  const fake = await startFakeSandboxServer(() => undefined);
  cleanups.push(() => fake.close());
  const gw = await createGateway(loadConfig({ PORT: '0', SANDBOX_ADDR: fake.url, COLLAB_DB: ':memory:', ...env }), captureLogger().logger, sandboxSlots === undefined ? {} : { sandboxSlots });
  cleanups.push(() => gw.close());
  return gw;
}

function closeCodeAfterSending(url: string, payload: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('open', () => ws.send(payload));
    ws.on('close', (code) => resolve(code));
    ws.on('error', () => undefined);
  });
}

const codecellCode = (err: unknown): unknown => (err instanceof TRPCClientError ? (err.data as { codecellCode?: unknown } | undefined)?.codecellCode : undefined);

describe('gateway bad input (issue 5)', () => {
  it('closes a /stream socket that sends an oversized frame with 1009, and keeps serving', async () => {
    const gw = await setup();
    const { jobId } = await trpcClient(gw.url).runCode.mutate({ files: [{ path: 'main.py', content: '' }] });
    expect(await closeCodeAfterSending(`${gw.url.replace('http', 'ws')}/stream/${jobId}`, Buffer.alloc(64 * 1024, 1))).toBe(1009);
    expect((await trpcClient(gw.url).health.query()).message).not.toBeUndefined();
  });

  it('closes a /collab socket that sends a frame over the limit with 1009', async () => {
    const gw = await setup({ MAX_ROOM_BYTES: '65536' });
    const url = `${gw.url.replace('http', 'ws')}/collab?protocolVersion=1`;
    expect(await closeCodeAfterSending(url, Buffer.alloc(2 * 65536 + 2 * 1024 * 1024, 7))).toBe(1009);
  });

  it('answers a flood of runs with capacity_exceeded once the queue is full', async () => {
    // The sandbox executes one run at once (its MAX_CONCURRENT_RUNS): one at the sandbox, three in line.
    const gw = await setup({ MAX_QUEUED_RUNS: '3' }, 1);
    const trpc = trpcClient(gw.url);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => trpc.runCode.mutate({ files: [{ path: 'main.py', content: '' }] })));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter((r) => r.status === 'rejected').map((r) => codecellCode((r).reason));
    expect(ok).toBe(4);
    expect(new Set(refused)).toEqual(new Set(['capacity_exceeded']));
  });

  it('rejects malformed procedure input with invalid_request and a message naming the field', async () => {
    const gw = await setup();
    const trpc = trpcClient(gw.url);
    const err = await trpc.runCode.mutate({ files: [{ path: '../../etc/passwd', content: '' }] }).catch((e: unknown) => e);
    expect(codecellCode(err)).toBe('invalid_request');
    expect(String((err as Error).message)).toContain('files.0.path');
    const err2 = await trpc.sendStdin.mutate({ jobId: 'x', data: 'y'.repeat(70 * 1024) }).catch((e: unknown) => e);
    expect(codecellCode(err2)).toBe('invalid_request');
  });

  it('survives garbage on the wire: invalid JSON bodies and raw bytes', async () => {
    const gw = await setup();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${gw.url}/trpc/runCode`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(Buffer.from([0xff, 0xfe, 0x00, 0x7b]));
    });
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });
});
