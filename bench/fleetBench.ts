/**
 * Fleet benchmarks (issue 14), one run on this machine:
 * - runs through 1 gateway + 1 sandbox (embedded: SANDBOX_ADDR, SQLite) and
 *   through 2 gateways + 2 sandbox hosts (Redis, PostgreSQL; submitted on
 *   one gateway, streamed from the other): time to first output, p50/p99,
 *   and runs per second with 4 clients;
 * - collaboration: edit propagation between two clients of one gateway and
 *   between clients of two gateways (through Redis);
 * - what each run and each edit costs Redis and PostgreSQL (counted by the
 *   servers themselves), and from that and the per-VM costs measured here, a
 *   capacity model on paper for one host and for 10 and 100 hosts.
 * @module
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import pg from 'pg';
import type * as Y from 'yjs';
import { startTestPostgres, startTestRedis } from '@codecell/server-kit/test';
import type { TestPostgres, TestRedis } from '@codecell/server-kit/test';
import { openStream, stdoutOf, trpcClient } from '../gateway/src/test/clients.js';
import { joinRoom, waitUntil } from '../gateway/src/test/collabClients.js';
import type { RoomClient } from '../gateway/src/test/collabClients.js';
import { startGatewayProcess } from '../gateway/src/test/gatewayProcess.js';
import type { GatewayProcess } from '../gateway/src/test/gatewayProcess.js';
import { startSandbox } from '../gateway/src/test/sandboxProcess.js';
import type { SandboxProcess } from '../gateway/src/test/sandboxProcess.js';
import { GUEST_OVERHEAD_MB, vmMemoryMb } from '../sandbox/src/config.js';
import { childProcesses } from '../sandbox/test/leftovers.js';
import type { BenchSuite } from './run.js';
import { startStack } from './stack.js';
import { ms, summarize, table } from './stats.js';
import type { Summary } from './stats.js';

const LATENCY_RUNS = 100;
const GAP_MS = 100;
const CLIENTS = 4;
const THROUGHPUT_S = 10;
const EDITS = 300;
// A generous boot timeout: the machine is shared, and a template boot under TCG slows down with it (boots are not what this measures).
const HOST_ENV = { POOL_SIZE: '2', MAX_CONCURRENT_RUNS: '2', LOG_LEVEL: 'error', BOOT_TIMEOUT_MS: '120000' };
const SOURCE = 'print("hello")';

/** Where runs are submitted and where their streams are read. */
interface Path {
  readonly submit: (i: number) => string;
  readonly stream: (i: number) => string;
}

async function oneRun(p: Path, o: { i: number; roomId: string }): Promise<{ firstMs: number; ok: boolean }> {
  const t0 = performance.now();
  const { jobId } = await trpcClient(p.submit(o.i)).runCode.mutate({ roomId: o.roomId, files: [{ path: 'main.py', content: SOURCE }] });
  const s = openStream(p.stream(o.i), jobId);
  const end = await s.waitFor((m) => m.type === 'end', 60_000);
  s.ws.close();
  return { firstMs: s.timeOfStdout('hello') - t0, ok: end.type === 'end' && end.status === 'ok' && stdoutOf(s.messages) === 'hello\n' };
}

/** Time to first output on two paths, runs alternating between them (so a change in the machine's load hits both alike). */
async function latency(paths: readonly [Path, Path]): Promise<[Summary, Summary]> {
  for (const p of paths) await oneRun(p, { i: 0, roomId: 'bench-lat' }); // attach each room's VM
  const first: [number[], number[]] = [[], []];
  for (let i = 0; i < LATENCY_RUNS; i++) {
    for (const k of [0, 1] as const) {
      await new Promise((r) => setTimeout(r, GAP_MS));
      const r = await oneRun(paths[k], { i, roomId: 'bench-lat' });
      if (!r.ok) throw new Error('a latency run failed');
      first[k].push(r.firstMs);
    }
  }
  return [summarize(first[0]), summarize(first[1])];
}

async function throughput(p: Path): Promise<{ rps: number; ok: number; bad: number }> {
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => oneRun(p, { i: c, roomId: `bench-tp-${c}` })));
  let ok = 0;
  let bad = 0;
  const t0 = performance.now();
  const end = t0 + THROUGHPUT_S * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = c; performance.now() < end; i += CLIENTS) {
        const r = await oneRun(p, { i, roomId: `bench-tp-${c}` }).catch(() => ({ ok: false }));
        if (r.ok) ok++;
        else bad++;
      }
    }),
  );
  return { rps: ok / ((performance.now() - t0) / 1000), ok, bad };
}

/** Total commands Redis executed so far (INFO commandstats). */
async function redisCalls(r: Redis): Promise<number> {
  const info = await r.info('commandstats');
  let n = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) n += Number(m[1]);
  return n;
}

/** Transactions PostgreSQL committed in `db` so far. */
async function pgCommits(c: pg.Client, db: string): Promise<number> {
  await c.query('SELECT pg_stat_clear_snapshot()');
  return Number((await c.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = $1', [db])).rows[0]?.n ?? 0);
}

/** Propagation of single-character inserts from `from` to `to`, ms. */
async function propagation(from: RoomClient, to: RoomClient): Promise<Summary> {
  const text = from.doc.getMap<Y.Text>('files').get('main.py') as Y.Text;
  const remote = to.doc.getMap<Y.Text>('files').get('main.py') as Y.Text;
  const samples: number[] = [];
  for (let i = 0; i < EDITS; i++) {
    const marker = `\u2063${i}\u2063`;
    const t0 = performance.now();
    text.insert(0, marker);
    await waitUntil(() => remote.toJSON().startsWith(marker), { timeoutMs: 10_000, what: 'an edit to arrive' });
    samples.push(performance.now() - t0);
    text.delete(0, marker.length);
    await new Promise((r) => setTimeout(r, 10));
  }
  await from.acknowledged();
  return summarize(samples);
}

/** Mean PSS and RSS of the QEMU processes of sandbox `pid`, MiB. */
function vmMemory(pid: number): { pssMb: number; rssMb: number; n: number } {
  const pids = childProcesses(pid, /^qemu-system/);
  let pss = 0;
  let rss = 0;
  for (const p of pids) {
    const text = readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
    pss += Number(/^Pss:\s+(\d+)/m.exec(text)?.[1] ?? 0);
    rss += Number(/^Rss:\s+(\d+)/m.exec(text)?.[1] ?? 0);
  }
  const n = Math.max(1, pids.length);
  return { pssMb: pss / 1024 / n, rssMb: rss / 1024 / n, n: pids.length };
}

interface Fleet {
  readonly redis: TestRedis;
  readonly pg: TestPostgres;
  readonly dbUrl: string;
  readonly hosts: SandboxProcess[];
  readonly gateways: GatewayProcess[];
  stop(): Promise<void>;
}

async function startFleet(): Promise<Fleet> {
  const [redis, pgs] = await Promise.all([startTestRedis(), startTestPostgres()]);
  const fleet = { REDIS_URL: redis.url, REDIS_PREFIX: 'bench' };
  const hosts: SandboxProcess[] = [];
  const gateways: GatewayProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.allSettled(gateways.map((g) => g.kill('SIGTERM')));
    await Promise.allSettled(hosts.map((h) => h.stop()));
    await Promise.allSettled([redis.stop(), pgs.stop()]);
  };
  try {
    for (const id of ['host-1', 'host-2']) hosts.push(await startSandbox({ env: { ...fleet, ...HOST_ENV, SANDBOX_HOST_ID: id } }));
    const dbUrl = await pgs.createDatabase('bench');
    for (const id of ['gw-a', 'gw-b']) gateways.push(await startGatewayProcess({ ...fleet, GATEWAY_ID: id, DATABASE_URL: dbUrl }));
    return { redis, pg: pgs, dbUrl, hosts, gateways, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export const fleetBench: BenchSuite = {
  name: 'fleet',
  async run(log) {
    const loadBefore = loadavg()[0] ?? NaN;
    log('starting the embedded stack (1 gateway + 1 sandbox) and the fleet (2 gateways, 2 sandbox hosts, Redis, PostgreSQL)');
    const stack = await startStack({ sandboxEnv: HOST_ENV, gatewayEnv: { COLLAB_DB: ':memory:' } });
    let f: Fleet | null = null;
    try {
      f = await startFleet();
      const [a, b] = f.gateways as [GatewayProcess, GatewayProcess];
      const embeddedPath: Path = { submit: () => stack.gatewayUrl, stream: () => stack.gatewayUrl };
      // Submitted on one gateway, streamed from the other: the Redis path end to end.
      const fleetPath: Path = { submit: (i) => (i % 2 === 0 ? a.url : b.url), stream: (i) => (i % 2 === 0 ? b.url : a.url) };
      const redis = new Redis(f.redis.socket);
      const pgc = new pg.Client({ connectionString: f.dbUrl });
      await pgc.connect();
      try {
        log('time to first output, alternating');
        const [embeddedLat, fleetLat] = await latency([embeddedPath, fleetPath]);
        log('runs per second');
        const embeddedTp = await throughput(embeddedPath);
        // What the fleet costs Redis with no run at all (heartbeats, sweeps, polls), to take off the per-run figure.
        const idle0 = await redisCalls(redis);
        const idleStart = performance.now();
        await new Promise((r) => setTimeout(r, 5_000));
        const idlePerS = ((await redisCalls(redis)) - idle0) / ((performance.now() - idleStart) / 1000);
        const calls0 = await redisCalls(redis);
        const tpStart = performance.now();
        const fleetTp = await throughput(fleetPath);
        const tpS = (performance.now() - tpStart) / 1000;
        const callsPerRun = ((await redisCalls(redis)) - calls0 - idlePerS * tpS) / Math.max(1, fleetTp.ok + fleetTp.bad);
        const vm = f.hosts.map((h) => vmMemory(h.pid));
        const embeddedVm = vmMemory(stack.sandbox.pid);
        log('collaboration across gateways');
        const { roomId } = await trpcClient(a.url).createRoom.mutate({ title: 'bench' });
        const c1 = joinRoom(a.url, roomId);
        const c2 = joinRoom(a.url, roomId);
        const c3 = joinRoom(b.url, roomId);
        await Promise.all([c1.synced(), c2.synced(), c3.synced()]);
        try {
          const same = await propagation(c1, c2);
          const commits0 = await pgCommits(pgc, 'bench');
          const redis0 = await redisCalls(redis);
          const crossStart = performance.now();
          const cross = await propagation(c1, c3);
          const crossS = (performance.now() - crossStart) / 1000;
          // Each edit is an insert and a delete: two changes.
          const pgPerChange = ((await pgCommits(pgc, 'bench')) - commits0) / (2 * EDITS);
          const redisPerChange = ((await redisCalls(redis)) - redis0 - idlePerS * crossS) / (2 * EDITS);
          const load = `${loadBefore.toFixed(1)} at the start, ${(loadavg()[0] ?? NaN).toFixed(1)} at the end`;
          return report({
            embedded: { lat: embeddedLat, tp: embeddedTp, vm: embeddedVm },
            fleet: { lat: fleetLat, tp: fleetTp, vm, callsPerRun, idlePerS },
            collab: { same, cross, pgPerChange, redisPerChange },
            load,
          });
        } finally {
          for (const c of [c1, c2, c3]) c.destroy();
        }
      } finally {
        redis.disconnect();
        await pgc.end();
      }
    } finally {
      await f?.stop();
      await stack.stop();
    }
  },
};

interface Results {
  readonly embedded: { lat: Summary; tp: { rps: number; ok: number; bad: number }; vm: { pssMb: number; rssMb: number; n: number } };
  readonly fleet: { lat: Summary; tp: { rps: number; ok: number; bad: number }; vm: Array<{ pssMb: number; rssMb: number; n: number }>; callsPerRun: number; idlePerS: number };
  readonly collab: { same: Summary; cross: Summary; pgPerChange: number; redisPerChange: number };
  /** 1-minute load average of the machine (shared with other work). */
  readonly load: string;
}

function report(r: Results): string {
  const e = r.embedded;
  const f = r.fleet;
  const vmPss = [e.vm, ...f.vm].filter((v) => v.n > 0);
  const pss = vmPss.reduce((n, v) => n + v.pssMb, 0) / Math.max(1, vmPss.length);
  const guestMb = vmMemoryMb(128); // the default VM's guest RAM (a program's 128 MiB, raised to a compiler's): what each VM may touch
  const model = capacityModel({ idlePerHost: f.idlePerS / 2, callsPerRun: f.callsPerRun, redisPerChange: r.collab.redisPerChange, pgPerChange: r.collab.pgPerChange, pssMb: pss, guestMb });
  return [
    `Each sandbox: \`POOL_SIZE=2 MAX_CONCURRENT_RUNS=2\`, VMs under TCG here. Embedded: one gateway (\`SANDBOX_ADDR\`, SQLite) and one sandbox. Fleet: two gateway processes and two sandbox hosts on one Redis (append-only, fsync always) and one PostgreSQL, each run submitted on one gateway and streamed from the other. Every process shares these 2 cores: the fleet cannot be faster here, the point is what the Redis path costs. The machine was shared with other work (1-minute load average ${r.load}): absolute figures are noisy, the two paths were measured back to back.`,
    '',
    '### Runs: time to first output (ms, `runCode` → first stdout on the stream, warm room VM, runs 100 ms apart, alternating between the two paths)',
    '',
    table(['path', 'n', 'p50', 'p95', 'p99'], [
      ['**embedded** (baseline): 1 gateway + 1 sandbox', e.lat.n, ms(e.lat.p50), ms(e.lat.p95), ms(e.lat.p99)],
      ['fleet: 2 gateways + 2 hosts, Redis', f.lat.n, ms(f.lat.p50), ms(f.lat.p95), ms(f.lat.p99)],
      ['overhead of the Redis path', '', ms(f.lat.p50 - e.lat.p50), ms(f.lat.p95 - e.lat.p95), ms(f.lat.p99 - e.lat.p99)],
    ]),
    '',
    `### Runs per second (${CLIENTS} clients, each its own room, back to back, ${THROUGHPUT_S} s)`,
    '',
    table(['path', 'runs/s', 'ok / failed'], [
      ['**embedded** (baseline)', e.tp.rps.toFixed(1), `${e.tp.ok} / ${e.tp.bad}`],
      ['fleet (2 hosts)', f.tp.rps.toFixed(1), `${f.tp.ok} / ${f.tp.bad}`],
    ]),
    '',
    `Redis commands per run in the fleet (INFO commandstats over the throughput window, commands inside Lua scripts included: BullMQ, the log stream, the control stream, positions), after taking off what the idle fleet costs (${f.idlePerS.toFixed(0)} commands/s: host heartbeats, gateways' sweeps and presence, BullMQ's own polling): **${f.callsPerRun.toFixed(0)}**.`,
    '',
    '### Collaboration: edit propagation (ms, a one-character insert until the other client has it)',
    '',
    table(['path', 'n', 'p50', 'p95', 'p99', 'max'], [
      ['**same gateway** (baseline): 2 clients of gateway A', r.collab.same.n, ms(r.collab.same.p50), ms(r.collab.same.p95), ms(r.collab.same.p99), ms(r.collab.same.max)],
      ['across gateways: a client of A to a client of B (Redis)', r.collab.cross.n, ms(r.collab.cross.p50), ms(r.collab.cross.p95), ms(r.collab.cross.p99), ms(r.collab.cross.max)],
    ]),
    '',
    `Per change (an insert or a delete): ${r.collab.pgPerChange.toFixed(2)} PostgreSQL commits (the stored update) and ${r.collab.redisPerChange.toFixed(1)} Redis commands (the Hocuspocus Redis extension's publishes; idle cost taken off).`,
    '',
    model,
  ].join('\n');
}

/** The capacity model, from what was measured above and the sandbox's memory rules. */
function capacityModel(o: { idlePerHost: number; callsPerRun: number; redisPerChange: number; pgPerChange: number; pssMb: number; guestMb: number }): string {
  const host = { cores: 16, gib: 64 };
  const guestBudgetMb = (host.gib * 1024) / 2; // MAX_GUEST_MEMORY_MB default: half the host
  const sessions = Math.floor(guestBudgetMb / o.guestMb);
  // Assumed, not measured (this machine has no working KVM): a short warm run costs ~30 ms of one core on KVM.
  const kvmRunCoreMs = 30;
  const runsPerSecond = Math.floor((host.cores * 1000) / kvmRunCoreMs / 2); // half the cores for guests, half for VMMs and the host
  // Assumed, the usual order of magnitude of redis-benchmark for small commands on one core.
  const redisCapacity = 100_000;
  const row = (hosts: number) => {
    const rps = hosts * runsPerSecond;
    const redisOps = rps * o.callsPerRun + hosts * o.idlePerHost;
    // Editors: each room's active typist sends ~5 changes/s; assume one typist per live session.
    const editors = hosts * sessions;
    const changes = editors * 5;
    return [
      String(hosts),
      String(hosts * sessions),
      String(rps),
      `${Math.round(redisOps / 1000)}k`,
      `${Math.round((changes * o.redisPerChange) / 1000)}k`,
      (redisOps / redisCapacity + (changes * o.redisPerChange) / redisCapacity).toFixed(1),
      `${Math.round(changes * o.pgPerChange)}`,
    ];
  };
  return [
    '### Capacity model (on paper)',
    '',
    `Per VM, measured here: **${o.pssMb.toFixed(0)} MiB PSS** per idle QEMU clone (snapshot RAM shared through the page cache; it grows towards the ${o.guestMb} MiB a default VM may touch, the compile stage's ${o.guestMb - GUEST_OVERHEAD_MB} MiB (more than \`DEFAULT_MEM_MB\` 128, so one VM shape serves every language) + ${GUEST_OVERHEAD_MB} guest overhead, as programs use memory). The sandbox admits VMs by that ceiling, not by PSS.`,
    `A host of **N cores and M GiB**: \`MAX_GUEST_MEMORY_MB\` = M/2 GiB by default, so **⌊M·512 / ${o.guestMb}⌋ room VMs** (at most 32 unless \`MAX_SESSIONS\` is raised); \`MAX_CONCURRENT_RUNS\` ≈ N/2 (one vCPU per run, the other half for VMMs and the host). Assuming (not measured: no working KVM here) a short warm run costs ~${kvmRunCoreMs} ms of a core on KVM, that is ≈ N·1000/${kvmRunCoreMs}/2 runs/s; under TCG (this machine) guest CPU is ~17× slower and the runs/s measured above are what such a host gives.`,
    `For a ${host.cores}-core, ${host.gib} GiB KVM host: ${sessions} room VMs, ~${runsPerSecond} short runs/s. Redis and PostgreSQL, from the costs measured above (${o.callsPerRun.toFixed(0)} Redis commands per run, ${o.redisPerChange.toFixed(1)} per edit, ${o.pgPerChange.toFixed(2)} PostgreSQL commits per edit, ~${o.idlePerHost.toFixed(0)} commands/s per host when idle) with one typist per room VM at 5 changes/s, every host at its peak run rate:`,
    '',
    table(['hosts', 'room VMs', 'runs/s (peak)', 'Redis cmd/s for runs', 'Redis cmd/s for edits', 'Redis cores (assumed 100k cmd/s each)', 'PostgreSQL commits/s'], [row(1), row(10), row(100)]),
    '',
    `So one Redis (one core, assumed ≈100k small commands/s) carries about ${(redisCapacity / (o.callsPerRun * runsPerSecond + 5 * sessions * o.redisPerChange + o.idlePerHost)).toFixed(1)} such hosts running flat out, and about ${(redisCapacity / (0.1 * o.callsPerRun * runsPerSecond + 5 * sessions * o.redisPerChange + o.idlePerHost)).toFixed(0)} hosts at a tenth of their peak run rate (a class pressing Run now and then, everyone typing). Past that, split the fleet by \`REDIS_PREFIX\` (independent fleets, e.g. per course, each with its own Redis) or give collaboration pub/sub a Redis of its own. PostgreSQL at thousands of small commits per second needs a tuned server (\`synchronous_commit\`, WAL on fast disks) and pgbouncer in front of many gateways. Run retention lives in Redis memory: each finished run keeps at most \`STREAM_REPLAY_BYTES\` for \`RUN_RETENTION_MS\`.`,
  ].join('\n');
}
