/**
 * The gateway's own cost on the page socket's run path (issue 12), without
 * VMs: a fake sandbox process answers `POST /run` at once (start, stdout
 * "hi\n", exit), so what the page socket adds over calling it directly is
 * the gateway's work alone (plus loopback hops), not the VM's. The gateway is
 * the real one (`gateway/src/main.ts`, rooms in a database file on disk) in a
 * process of its own, as in `bench:gateway`.
 * @module
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { STREAM_SOCKET_PATH } from '@codecell/protocol';
import { joinRoom } from '../gateway/src/test/collabClients.js';
import type { StreamServerMessage } from '@codecell/protocol';
import type { BenchSuite } from './run.js';
import { timedRun } from './sandboxBench.js';
import { startGateway } from './stack.js';
import { ms, summarize, table } from './stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = 300;
const GAP_MS = 20;
/** A scripted-sandbox program: one line of stdout, then exit 0. */
const SOURCE = 'out hi';

/** Starts bench/fakeSandboxProcess.ts; resolves with its URL and how to stop it. */
async function startFakeSandbox(token: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/fakeSandboxProcess.ts'], { cwd: ROOT, env: { ...process.env, SANDBOX_TOKEN: token }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  child.stdout.setEncoding('utf8');
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (s: string) => {
      out += s;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(line.trim());
    });
    void exited.then(() => reject(new Error('the fake sandbox exited before listening')));
  });
  return { url, stop };
}

/** A page socket that stamps each message with its arrival time before anything else is done with it. */
interface Page {
  readonly ws: WebSocket;
  readonly got: { readonly at: number; readonly msg: StreamServerMessage }[];
  wait(pred: (m: StreamServerMessage) => boolean, timeoutMs?: number): Promise<number>;
}

async function openPage(gatewayUrl: string): Promise<Page> {
  const ws = new WebSocket(`${gatewayUrl.replace(/^http/, 'ws')}${STREAM_SOCKET_PATH}`);
  const got: { at: number; msg: StreamServerMessage }[] = [];
  let wake: (() => void) | null = null;
  ws.on('message', (data: Buffer) => {
    const at = performance.now();
    got.push({ at, msg: JSON.parse(data.toString('utf8')) as StreamServerMessage });
    wake?.();
  });
  const wait = (pred: (m: StreamServerMessage) => boolean, timeoutMs = 10_000): Promise<number> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no such message on the page socket in time')), timeoutMs);
      const check = (): void => {
        let hit: { at: number } | undefined;
        try {
          hit = got.find((g) => pred(g.msg));
        } catch (err) {
          hit = undefined;
          clearTimeout(timer);
          wake = null;
          return reject(err instanceof Error ? err : new Error(String(err)));
        }
        if (hit === undefined) return;
        clearTimeout(timer);
        wake = null;
        resolve(hit.at);
      };
      wake = check;
      check();
    });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await wait((m) => m.type === 'ready');
  return { ws, got, wait };
}

/** One run on the page socket: ms from sending `run` to its first stdout arriving on the socket. */
async function pageRun(page: Page, o: { ref: string; roomId: string | null }): Promise<number> {
  page.got.length = 0;
  const input = { ...(o.roomId === null ? {} : { roomId: o.roomId }), files: [{ path: 'main.py', content: SOURCE }], entry: 'main.py' };
  const t0 = performance.now();
  page.ws.send(JSON.stringify({ type: 'run', ref: o.ref, input }));
  let jobId = '';
  await page.wait((m) => {
    if (m.type === 'refused') throw new Error(`refused: ${m.message}`);
    if (m.type === 'accepted' && m.ref === o.ref) jobId = m.jobId;
    return m.type === 'accepted' && m.ref === o.ref;
  });
  const first = await page.wait((m) => m.type === 'job' && m.jobId === jobId && m.message.type === 'event' && m.message.event.type === 'stdout');
  await page.wait((m) => m.type === 'job' && m.jobId === jobId && m.message.type === 'end');
  return first - t0;
}

/** What {@link measureGatewayFake} measured, ms per run. */
export interface FakeSamples {
  readonly directKeepAlive: number[];
  readonly directFresh: number[];
  /** In a room a collab client has open (as the IDE's page has). */
  readonly pageOpenRoom: number[];
  /** In a room nobody has open (the gateway loads it for a run and keeps it open a while after). */
  readonly pageClosedRoom: number[];
  readonly pageNoRoom: number[];
}

const OPEN_ROOM = 'bench-fake-open';
const CLOSED_ROOM = 'bench-fake-closed';

/** Runs `runs` of each kind, interleaved; `nodeArgs` go to the gateway's node (e.g. `--cpu-prof`). */
export async function measureGatewayFake(o: { runs: number; log: (msg: string) => void; nodeArgs?: readonly string[] }): Promise<FakeSamples> {
  const token = randomBytes(24).toString('base64url');
  const fake = await startFakeSandbox(token);
  try {
    const gw = await startGateway({ sandboxAddr: fake.url, env: { SANDBOX_TOKEN: token }, ...(o.nodeArgs ? { nodeArgs: o.nodeArgs } : {}) });
    try {
      const sandbox = { url: fake.url, token };
      const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
      const fresh = new Agent({ keepAlive: false });
      const page = await openPage(gw.url);
      const room = joinRoom(gw.url, OPEN_ROOM);
      await room.synced();
      const s: FakeSamples = { directKeepAlive: [], directFresh: [], pageOpenRoom: [], pageClosedRoom: [], pageNoRoom: [] };
      const gap = (): Promise<void> => new Promise((r) => setTimeout(r, GAP_MS));
      const body = { language: 'py', source: SOURCE };
      let refs = 0;
      // Warm-up (JIT, the room's document, connections), not counted.
      for (let i = 0; i < 20; i++) {
        await timedRun(sandbox, keepAlive, body);
        for (const roomId of [OPEN_ROOM, CLOSED_ROOM, null]) await pageRun(page, { ref: `w${++refs}`, roomId });
      }
      for (let i = 0; i < o.runs; i++) {
        await gap();
        s.directKeepAlive.push((await timedRun(sandbox, keepAlive, body)).firstByteMs);
        await gap();
        s.directFresh.push((await timedRun(sandbox, fresh, body)).firstByteMs);
        await gap();
        s.pageOpenRoom.push(await pageRun(page, { ref: `r${++refs}`, roomId: OPEN_ROOM }));
        await gap();
        s.pageClosedRoom.push(await pageRun(page, { ref: `r${++refs}`, roomId: CLOSED_ROOM }));
        await gap();
        s.pageNoRoom.push(await pageRun(page, { ref: `r${++refs}`, roomId: null }));
        if ((i + 1) % 100 === 0) o.log(`${i + 1}/${o.runs}`);
      }
      page.ws.close();
      room.destroy();
      keepAlive.destroy();
      fresh.destroy();
      return s;
    } finally {
      await gw.stop();
    }
  } finally {
    await fake.stop();
  }
}

export const gatewayFakeBench: BenchSuite = {
  name: 'gateway-fake',
  async run(log) {
    const s = await measureGatewayFake({ runs: RUNS, log });
    const row = (name: string, v: number[]): (string | number)[] => {
      const x = summarize(v);
      return [name, x.n, ms(x.p50), ms(x.p95), ms(x.p99)];
    };
    const d = summarize(s.directKeepAlive);
    const open = summarize(s.pageOpenRoom);
    const closed = summarize(s.pageClosedRoom);
    const noRoom = summarize(s.pageNoRoom);
    return [
      `**Fake sandbox: the gateway's own cost.** No VM: a fake sandbox process (bench/fakeSandboxProcess.ts, the scripted sandbox of the unit tests, checking the same bearer token) answers \`POST /run\` at once with \`start\`, stdout \`hi\\n\` and \`exit\`. The real gateway runs in a process of its own in front of it (rooms in a database file). ${RUNS} runs of each kind, interleaved, ${GAP_MS} ms apart, after 20 warm-up runs; times are taken when a message arrives, before it is parsed.`,
      '',
      table(['measurement (ms)', 'n', 'p50', 'p95', 'p99'], [
        row('**fake sandbox only**: `POST /run` → first stdout byte (keep-alive connection, as `bench:gateway` measures the sandbox)', s.directKeepAlive),
        row('fake sandbox only, a new connection per run', s.directFresh),
        row('gateway, page socket, run in a room a collab client has open (the IDE): `run` message → first stdout on the socket', s.pageOpenRoom),
        row('gateway, page socket, run in a room nobody has open (the gateway loaded it for an earlier run and keeps it 5 s after each)', s.pageClosedRoom),
        row('gateway, page socket, run without a room', s.pageNoRoom),
      ]),
      '',
      table(['gateway\'s own cost (p50 page socket − p50 fake sandbox)', 'ms'], [
        ['in a room open in the IDE', ms(open.p50 - d.p50)],
        ['in a room nobody has open', ms(closed.p50 - d.p50)],
        ['without a room', ms(noRoom.p50 - d.p50)],
      ]),
      '',
      "What the gateway does on this path: parses the `run` message and its input (zod), checks the caller's role and quotas, builds the request and sends it on a kept-alive loopback connection to the sandbox, then answers `accepted` and subscribes the socket; per event it parses an NDJSON line (zod), appends it to the run's replay log and queues it for the socket, which writes what one tick queued in one system call. A run of a room is recorded in the room's document once its request has left; a room nobody has open is loaded for its first run and released 5 s after its last (before, it was loaded and compacted around every run: 30 ms of the gateway's CPU each). On this host every system call costs ~0.1 ms (a PVM guest), and a run's path here has about ten (two socket reads and a write each way, the epoll waits).",
    ].join('\n');
  },
};
