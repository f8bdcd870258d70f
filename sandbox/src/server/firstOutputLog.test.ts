/**
 * The sandbox's own time to first output, logged at debug for each run (the
 * gateway bench takes it out of each run's time through the gateway).
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '@codecell/server-kit';
import { fakeCore } from '../../test/fakeVmm/fakeCore.js';
import { listenOnLoopback } from '../../test/listenOnLoopback.js';
import { testSandboxServer } from '../../test/testSandboxServer.js';

const TOKEN = 'first-output-test-token-0123456789abcdef';
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A run through the HTTP API: its job id, ms until its first stdout byte, and when it ended. */
function run(port: number, source: string): Promise<{ jobId: string; firstMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let firstMs = Number.NaN;
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/run', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (Number.isNaN(firstMs) && d.includes('"stdout"')) firstMs = performance.now() - t0;
      });
      res.on('end', () => resolve({ jobId: String(res.headers['x-job-id']), firstMs }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ language: 'py', source }));
  });
}

describe('the sandbox logs its own time to first output', () => {
  it('once per run, at debug, with the job id, within what the client saw', async () => {
    const logged: Array<{ msg: string; data: Record<string, unknown> | undefined }> = [];
    const capture = (msg: string, data?: Record<string, unknown>): void => void logged.push({ msg, data });
    const logger: Logger = { debug: capture, info: () => undefined, warn: () => undefined, error: () => undefined };
    const core = fakeCore({ poolTarget: 0, mode: 'boot' });
    const port = await listenOnLoopback(testSandboxServer({ runs: core.runs, token: TOKEN, logger }), cleanups, () => core.dispose());
    const a = await run(port, 'print:hello');
    const b = await run(port, 'print:again');
    const first = logged.filter((l) => l.msg === 'first output');
    expect(first.map((l) => l.data?.['jobId'])).toEqual([a.jobId, b.jobId]);
    for (const [l, r] of [[first[0], a], [first[1], b]] as const) {
      const afterMs = l?.data?.['afterMs'];
      expect(typeof afterMs).toBe('number');
      expect(afterMs as number).toBeGreaterThan(0);
      expect(afterMs as number).toBeLessThan(r.firstMs);
    }
  });
});
