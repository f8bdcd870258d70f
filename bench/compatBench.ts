/**
 * Compatible APIs benchmarks (issue 13): latency of one `print("hello")`
 * through Piston's `POST /api/v2/execute` (the npm piston-client) and
 * Judge0's `POST /submissions?wait=true` and submit-then-poll, beside the
 * same run through `runCode` without a room (also a fresh VM per run) and
 * the sandbox's `POST /run` measured in the same run; then throughput with
 * 4 clients each, and a Judge0 batch of 20.
 * @module
 */
import { Agent } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { piston } from 'piston-client';
import { openStream, stdoutOf, trpcClient } from '../gateway/src/test/clients.js';
import type { BenchSuite } from './run.js';
import { timedRun } from './sandboxBench.js';
import { startStack } from './stack.js';
import { ms, summarize, table } from './stats.js';

const RUNS = 60;
const GAP_MS = 100;
const CLIENTS = 4;
const THROUGHPUT_S = 10;
const SOURCE = 'print("hello")';

type Path = (i: number) => Promise<void>;

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`unexpected answer: ${what.slice(0, 300)}`);
}

/** The paths measured, each ending when its client has the program's output. */
function paths(gatewayUrl: string, sandbox: { url: string; token: () => string }): Record<string, Path> {
  const trpc = trpcClient(gatewayUrl);
  const client = piston({ server: gatewayUrl });
  const agent = new Agent({ keepAlive: false });
  const judge0 = async (path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${gatewayUrl}${path}`, { method: body === undefined ? 'GET' : 'POST', headers: { 'Content-Type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return (await res.json()) as Record<string, unknown>;
  };
  return {
    sandbox: async () => {
      const r = await timedRun({ url: sandbox.url, token: sandbox.token() }, agent, { language: 'py', source: SOURCE });
      check(r.status === 'ok', r.status);
    },
    runCode: async () => {
      const { jobId } = await trpc.runCode.mutate({ language: 'py', source: SOURCE });
      const s = openStream(gatewayUrl, jobId);
      await s.waitFor((m) => m.type === 'end');
      s.ws.close();
      check(stdoutOf(s.messages) === 'hello\n', stdoutOf(s.messages));
    },
    piston: async () => {
      const res = (await client.execute('python', SOURCE)) as { run?: { stdout?: string } };
      check(res.run?.stdout === 'hello\n', JSON.stringify(res));
    },
    judge0Wait: async () => {
      const res = await judge0('/submissions?wait=true', { language_id: 71, source_code: SOURCE });
      check(res['stdout'] === 'hello\n', JSON.stringify(res));
    },
    judge0Poll: async () => {
      const { token } = (await judge0('/submissions', { language_id: 71, source_code: SOURCE })) as { token: string };
      for (;;) {
        const s = await judge0(`/submissions/${token}?fields=status,stdout`);
        if ((s['status'] as { id: number }).id > 2) return check(s['stdout'] === 'hello\n', JSON.stringify(s));
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

const LABELS: Record<string, string> = {
  sandbox: '**baseline**: sandbox `POST /run` (fresh VM) → exit event',
  runCode: '**baseline**: gateway `runCode` without a room → `end` on the stream',
  piston: 'Piston: piston-client `execute()` → answer',
  judge0Wait: 'Judge0: `POST /submissions?wait=true` → answer',
  judge0Poll: 'Judge0: `POST /submissions`, then `GET` every 20 ms → finished',
};

async function throughput(run: Path): Promise<{ perSecond: number; done: number }> {
  const until = performance.now() + THROUGHPUT_S * 1000;
  let done = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < until) {
        await run(done);
        done++;
      }
    }),
  );
  return { perSecond: done / ((performance.now() - t0) / 1000), done };
}

export const compatBench: BenchSuite = {
  name: 'compat',
  async run(log) {
    const stack = await startStack({ sandboxEnv: { POOL_SIZE: '4' }, gatewayEnv: { MAX_CONCURRENT_RUNS: '4' } });
    try {
      const loadBefore = loadavg()[0] ?? NaN;
      const p = paths(stack.gatewayUrl, stack.sandbox);
      const times: Record<string, number[]> = Object.fromEntries(Object.keys(p).map((k) => [k, []]));
      for (const run of Object.values(p)) await run(0);
      for (let i = 0; i < RUNS; i++) {
        for (const [name, run] of Object.entries(p)) {
          await new Promise((r) => setTimeout(r, GAP_MS));
          const t0 = performance.now();
          await run(i);
          times[name]?.push(performance.now() - t0);
        }
        if ((i + 1) % 20 === 0) log(`latency ${i + 1}/${RUNS}`);
      }
      const rows = Object.entries(times).map(([name, v]) => {
        const s = summarize(v);
        return [LABELS[name] ?? name, s.n, ms(s.p50), ms(s.p95), ms(s.p99)];
      });
      const tput: Array<[string, { perSecond: number; done: number }]> = [];
      for (const name of ['runCode', 'piston', 'judge0Wait'] as const) {
        log(`throughput ${name}`);
        tput.push([name, await throughput(p[name] as Path)]);
      }
      log('batch of 20');
      const batch = await batchOf20(stack.gatewayUrl);
      // The paths take turns, so each iteration's difference to runCode is measured under the same load.
      const paired = (name: string): number => summarize((times[name] ?? []).map((t, i) => t - (times['runCode']?.[i] ?? NaN))).p50;
      const loadAfter = loadavg()[0] ?? NaN;
      return [
        `Load average (1 min) of the machine: ${loadBefore.toFixed(1)} at the start, ${loadAfter.toFixed(1)} at the end, on ${String(cpus().length)} cores shared with other work; the absolute figures grow with it, the paired differences below much less.`,
        '',
        `Each run is \`${SOURCE}\` in Python, ${GAP_MS} ms apart, the paths taking turns. Runs of the compatible APIs (like \`runCode\` without a room) get a fresh VM from the pool each (no session VM: one submission cannot see another's files), so the baselines are the gateway's and the sandbox's own fresh-VM paths. Gateway: \`MAX_CONCURRENT_RUNS=4\`; sandbox: \`POOL_SIZE=4\`; AUTH_MODE=none; clients in this process over loopback.`,
        '',
        table(['measurement (ms)', 'n', 'p50', 'p95', 'p99'], rows),
        '',
        table(['throughput, ' + String(CLIENTS) + ' clients back to back, ' + String(THROUGHPUT_S) + ' s', 'runs/s', 'runs'], tput.map(([name, t]) => [LABELS[name] ?? name, t.perSecond.toFixed(1), t.done])),
        '',
        `Judge0 batch of 20 (\`POST /submissions/batch\`, then \`GET /submissions/batch?tokens=\` every 50 ms): all 20 finished in ${ms(batch)} ms.`,
        '',
        table(['target', 'measured', 'verdict'], [
          ['Piston `execute` adds < 10 ms to `runCode` without a room (median of paired differences)', `${ms(paired('piston'))} ms`, paired('piston') < 10 ? 'met' : '**not met**'],
          ['Judge0 `wait=true` adds < 10 ms to `runCode` without a room (median of paired differences)', `${ms(paired('judge0Wait'))} ms`, paired('judge0Wait') < 10 ? 'met' : '**not met**'],
        ]),
      ].join('\n');
    } finally {
      await stack.stop();
    }
  },
};

async function batchOf20(gatewayUrl: string): Promise<number> {
  const t0 = performance.now();
  const submissions = Array.from({ length: 20 }, (_, i) => ({ language_id: 71, source_code: `print(${i})` }));
  const res = await fetch(`${gatewayUrl}/submissions/batch`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ submissions }) });
  const tokens = ((await res.json()) as Array<{ token: string }>).map((t) => t.token).join(',');
  for (;;) {
    const shown = (await (await fetch(`${gatewayUrl}/submissions/batch?tokens=${tokens}&fields=status,stdout`)).json()) as { submissions: Array<{ status: { id: number }; stdout: string }> };
    if (shown.submissions.every((s) => s.status.id > 2)) {
      check(shown.submissions.every((s, i) => s.status.id === 3 && s.stdout === `${i}\n`), JSON.stringify(shown));
      return performance.now() - t0;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
