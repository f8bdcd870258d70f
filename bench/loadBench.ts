/**
 * Load test (issue 5): 20 users, each running a short program every second
 * for 60 s, plus one user running a CPU hog, through the gateway from this
 * (separate) process. Every output is checked against its expected text;
 * latency, fairness and memory before/after are reported.
 * @module
 */
import { readFileSync } from 'node:fs';
import { openStream, stdoutOf, trpcClient } from '../gateway/src/test/clients.js';
import { childProcesses } from '../sandbox/test/leftovers.js';
import type { BenchSuite } from './run.js';
import { startStack } from './stack.js';
import { ms, summarize, table } from './stats.js';

const USERS = 20;
const DURATION_S = 60;
const PERIOD_MS = 1000;
const SESSION_IDLE_MS = 8000;

function rssMb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return NaN;
  }
}

function vmCount(sandboxPid: number): number {
  return childProcesses(sandboxPid, /^qemu-system/).length;
}

interface Outcome {
  readonly latencyMs: number;
  readonly ok: boolean;
  readonly problem?: string;
}

export const loadBench: BenchSuite = {
  name: 'load',
  async run(log) {
    const stack = await startStack({
      sandboxEnv: { POOL_SIZE: '4', SESSION_IDLE_MS: String(SESSION_IDLE_MS), MAX_CONCURRENT_RUNS: '4', MAX_QUEUED_RUNS: '64' },
      gatewayEnv: { MAX_CONCURRENT_RUNS: '8', MAX_QUEUED_RUNS: '100', RUN_RETENTION_MS: '5000' },
    });
    try {
      const trpc = trpcClient(stack.gatewayUrl);
      const runOnce = async (roomId: string, source: string, expected: string | null): Promise<Outcome> => {
        const t0 = performance.now();
        try {
          const { jobId } = await trpc.runCode.mutate({ roomId, files: [{ path: 'main.py', content: source }], entry: 'main.py', startedBy: roomId });
          const s = openStream(stack.gatewayUrl, jobId);
          const end = await s.waitFor((m) => m.type === 'end', 120_000);
          s.ws.close();
          const latencyMs = performance.now() - t0;
          if (expected === null) return { latencyMs, ok: end.type === 'end' && end.status === 'timeout' };
          const out = stdoutOf(s.messages);
          if (end.type !== 'end' || end.status !== 'ok') return { latencyMs, ok: false, problem: `status ${end.type === 'end' ? end.status : '?'}` };
          if (out !== expected) return { latencyMs, ok: false, problem: `garbled: ${JSON.stringify(out).slice(0, 80)}` };
          return { latencyMs, ok: true };
        } catch (err) {
          return { latencyMs: performance.now() - t0, ok: false, problem: String(err).slice(0, 120) };
        }
      };
      // Baseline memory after start-up.
      await new Promise((r) => setTimeout(r, 3000));
      const before = { gateway: rssMb(stack.gatewayPid), sandbox: rssMb(stack.sandbox.pid), vms: vmCount(stack.sandbox.pid) };
      log(`before: gateway ${before.gateway.toFixed(0)} MiB, sandbox ${before.sandbox.toFixed(0)} MiB, ${before.vms} VMs`);
      const outcomes: Outcome[][] = Array.from({ length: USERS }, () => []);
      const hog: Outcome[] = [];
      const endAt = performance.now() + DURATION_S * 1000;
      const user = async (u: number): Promise<void> => {
        for (let n = 0; performance.now() < endAt; n++) {
          const started = performance.now();
          const expected = `user ${u} run ${n}\n${'x'.repeat(u + 1)}\n${(u * 1000 + n) * 7}\n`;
          const source = `print("user ${u} run ${n}")\nprint("x" * ${u + 1})\nprint(${u * 1000 + n} * 7)`;
          outcomes[u]?.push(await runOnce(`load-user-${u}`, source, expected));
          const wait = PERIOD_MS - (performance.now() - started);
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
      };
      const hogger = async (): Promise<void> => {
        while (performance.now() < endAt) hog.push(await runOnce('load-hog', 'while True: pass', null));
      };
      await Promise.all([...Array.from({ length: USERS }, (_, u) => user(u)), hogger()]);
      const all = outcomes.flat();
      const bad = all.filter((o) => !o.ok);
      log(`${all.length} runs, ${bad.length} failed; hog ran ${hog.length} times`);
      const lat = summarize(all.map((o) => o.latencyMs));
      const perUser = outcomes.map((o) => o.length);
      const during = { gateway: rssMb(stack.gatewayPid), sandbox: rssMb(stack.sandbox.pid), vms: vmCount(stack.sandbox.pid) };
      await new Promise((r) => setTimeout(r, SESSION_IDLE_MS + 6000)); // sessions idle out, VMs go
      const after = { gateway: rssMb(stack.gatewayPid), sandbox: rssMb(stack.sandbox.pid), vms: vmCount(stack.sandbox.pid) };
      log(`after: gateway ${after.gateway.toFixed(0)} MiB, sandbox ${after.sandbox.toFixed(0)} MiB, ${after.vms} VMs`);
      const problems = [...new Set(bad.map((o) => o.problem ?? 'unknown'))].slice(0, 5);
      return [
        `${USERS} users, each in its own room, run a 3-line program every ${PERIOD_MS / 1000} s for ${DURATION_S} s (the next run starts when the previous ended, at most once a second); one more user runs \`while True: pass\` back to back (each ends by the 5 s timeout). Client: this process, over tRPC + \`/stream\` on loopback. Sandbox: \`MAX_CONCURRENT_RUNS=4\`, \`POOL_SIZE=4\`, \`SESSION_IDLE_MS=${SESSION_IDLE_MS}\`.`,
        '',
        table(['measurement', 'value'], [
          ['runs by the 20 users', all.length],
          ['lost or failed runs', `${bad.length}${problems.length ? ` (${problems.join('; ')})` : ''}`],
          ['outputs checked byte for byte', `${all.length - bad.length} correct, 0 garbled allowed`],
          ['latency `runCode` → `end`, p50 / p95 / p99 (ms)', `${ms(lat.p50)} / ${ms(lat.p95)} / ${ms(lat.p99)}`],
          ['runs per user, min / max (fairness)', `${Math.min(...perUser)} / ${Math.max(...perUser)}`],
          ['CPU hog runs (each 5 s)', `${hog.length} (${hog.filter((h) => h.ok).length} ended with status timeout)`],
          ['gateway RSS before / at end / after idle (MiB)', `${before.gateway.toFixed(0)} / ${during.gateway.toFixed(0)} / ${after.gateway.toFixed(0)}`],
          ['sandbox RSS before / at end / after idle (MiB)', `${before.sandbox.toFixed(0)} / ${during.sandbox.toFixed(0)} / ${after.sandbox.toFixed(0)}`],
          ['VMs (QEMU processes) before / at end / after idle', `${before.vms} / ${during.vms} / ${after.vms}`],
        ]),
      ].join('\n');
    } finally {
      await stack.stop();
    }
  },
};
