/**
 * Gateway benchmarks (issue 3): `runCode` → first stream event and first
 * stdout, beside the sandbox-only figure measured in the same run, so the
 * gateway's own overhead is visible.
 * @module
 */
import { Agent } from 'node:http';
import { openStream, stdoutOf, trpcClient } from '../gateway/src/test/clients.js';
import type { BenchSuite } from './run.js';
import { timedRun } from './sandboxBench.js';
import { startStack } from './stack.js';
import { ms, summarize, table } from './stats.js';

const RUNS = 200;
const GAP_MS = 100;
const SOURCE = 'print("hello")';

export const gatewayBench: BenchSuite = {
  name: 'gateway',
  async run(log) {
    const stack = await startStack({ sandboxEnv: { POOL_SIZE: '2' } });
    try {
      const trpc = trpcClient(stack.gatewayUrl);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const direct: number[] = [];
      const hello: number[] = [];
      const start: number[] = [];
      const first: number[] = [];
      const accepted: number[] = [];
      const oneGatewayRun = async (): Promise<void> => {
        const t0 = performance.now();
        const { jobId } = await trpc.runCode.mutate({ roomId: 'bench-gw', files: [{ path: 'main.py', content: SOURCE }], entry: 'main.py' });
        const t1 = performance.now();
        const s = openStream(stack.gatewayUrl, jobId);
        await s.waitFor((m) => m.type === 'end');
        const at = (pred: (i: number) => boolean): number => {
          const i = s.messages.findIndex((_, k) => pred(k));
          return i >= 0 ? (s.times[i] as number) - t0 : NaN;
        };
        accepted.push(t1 - t0);
        hello.push(at((k) => s.messages[k]?.type === 'hello'));
        start.push(at((k) => { const m = s.messages[k]; return m?.type === 'event' && m.event.type === 'start'; }));
        first.push(s.timeOfStdout('hello') - t0);
        if (stdoutOf(s.messages) !== 'hello\n') throw new Error(`unexpected output ${JSON.stringify(stdoutOf(s.messages))}`);
        s.ws.close();
      };
      // Attach both session VMs first.
      await timedRun({ url: stack.sandbox.url, token: stack.sandbox.token() }, agent, { language: 'py', source: SOURCE, sessionId: 'bench-direct' });
      await oneGatewayRun();
      accepted.length = hello.length = start.length = first.length = 0;
      for (let i = 0; i < RUNS; i++) {
        await new Promise((r) => setTimeout(r, GAP_MS));
        direct.push((await timedRun({ url: stack.sandbox.url, token: stack.sandbox.token() }, agent, { language: 'py', source: SOURCE, sessionId: 'bench-direct' })).firstByteMs);
        await new Promise((r) => setTimeout(r, GAP_MS));
        await oneGatewayRun();
        if ((i + 1) % 50 === 0) log(`${i + 1}/${RUNS}`);
      }
      agent.destroy();
      const d = summarize(direct);
      const f = summarize(first);
      const row = (name: string, v: number[]) => {
        const s = summarize(v);
        return [name, s.n, ms(s.p50), ms(s.p95), ms(s.p99)];
      };
      const overhead = f.p50 - d.p50;
      return [
        `Runs alternate between the sandbox directly and the gateway, ${GAP_MS} ms apart, each path with its own warm session VM; the gateway is a separate process on loopback.`,
        '',
        table(['measurement (ms)', 'n', 'p50', 'p95', 'p99'], [
          row('**sandbox only**: `POST /run` → first stdout byte', direct),
          row('gateway: `runCode` → `{jobId}` returned', accepted),
          row('gateway: `runCode` → first stream message (`hello`)', hello),
          row('gateway: `runCode` → `start` event on the stream', start),
          row('gateway: `runCode` → first stdout on the stream', first),
        ]),
        '',
        table(['target', 'measured', 'verdict'], [
          ['gateway adds < 5 ms p50 to the time to first stdout', `${ms(f.p50)} − ${ms(d.p50)} = ${ms(overhead)} ms`, overhead < 5 ? 'met' : '**not met**'],
        ]),
        '',
        `Where the gateway's time goes: the client needs the jobId before it can subscribe (\`runCode\` round trip, p50 ${ms(summarize(accepted).p50)} ms) and then a WebSocket handshake (first message at p50 ${ms(summarize(hello).p50)} ms); the run itself starts when \`runCode\` arrives, and its \`start\` event reaches the client at p50 ${ms(summarize(start).p50)} ms. The remaining gap is the gateway's second hop to the sandbox (a new loopback HTTP request, NDJSON parsing, schema checks, the replay log) and, with a room, recording the run in the room document. Meeting 5 ms would need the stream to open before \`runCode\` returns (a client-chosen job id), which the protocol does not have yet.`,
      ].join('\n');
    } finally {
      await stack.stop();
    }
  },
};
