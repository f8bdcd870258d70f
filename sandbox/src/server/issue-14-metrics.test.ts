/**
 * Issue 14: the sandbox's Prometheus metrics: VMs by state, runs by how they
 * ended, fleet host gauges; `/metrics` wants the sandbox token like every
 * route but `/healthz`.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '@codecell/protocol';
import { fakeCore } from '../../test/fakeVmm/fakeCore.js';
import { listenOnLoopback } from '../../test/listenOnLoopback.js';
import { testSandboxServer } from '../../test/testSandboxServer.js';
import { SandboxMetrics } from './sandboxMetrics.js';

const TOKEN = 'issue-14-test-token-0123456789abcdef';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function get(port: number, headers: Record<string, string> = {}): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('issue 14: sandbox metrics', () => {
  it('reports VMs by state and runs by status, to the gateway only', async () => {
    let metrics: SandboxMetrics | null = null;
    const core = fakeCore({ poolTarget: 1, mode: 'boot', onRunEnd: (s) => metrics?.runEnded(s) });
    metrics = new SandboxMetrics({ pool: () => core.pool.stats(), attachedVms: () => core.sessions.attached, runs: () => core.runs.stats(), fleet: () => ({ active: 1, draining: true }) });
    const m = metrics;
    const server = testSandboxServer({ runs: core.runs, token: TOKEN, metrics: () => m.render() });
    const port = await listenOnLoopback(server, cleanups, () => core.dispose());
    for (let i = 0; i < 100 && core.pool.stats().idle === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const events: RunEvent[] = [];
    for await (const e of core.runs.start({ language: 'py', source: 'print:hi\n' }).events) events.push(e);
    expect(events.at(-1)).toMatchObject({ type: 'exit', status: 'ok' });
    expect((await get(port)).status).toBe(401);
    const res = await get(port, { authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain/);
    expect(res.body).toMatch(/^codecell_sandbox_runs_total\{status="ok"\} 1$/m);
    expect(res.body).toMatch(/^codecell_vms\{state="idle"\} \d+$/m);
    expect(res.body).toMatch(/^codecell_sandbox_runs\{state="active"\} 0$/m);
    expect(res.body).toMatch(/^codecell_fleet_host_draining 1$/m);
    expect(res.body).toMatch(/^codecell_sandbox_process_resident_memory_bytes \d+/m);
  });
});
