/**
 * Sandbox benchmarks (issue 2): cold boot and snapshot restore to agent-ready,
 * warm run latency over HTTP, runs per second at 1/4/16 clients, idle VM
 * memory, and the host-python baseline measured in the same run.
 * @module
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultCacheDir, guestImage } from '@codecell/guest';
import { loadConfig } from '../sandbox/src/config.js';
import { createSandbox } from '../sandbox/src/server/createSandbox.js';
import { shapeFor } from '../sandbox/src/runs/runPlan.js';
import { planStages } from '../sandbox/src/runs/stageCommands.js';
import { silentLogger } from '@codecell/server-kit';
import { QemuDriver } from '../sandbox/src/vmm/qemu/QemuDriver.js';
import { childProcesses } from '../sandbox/test/leftovers.js';
import type { BenchSuite } from './run.js';
import { coldBoots, makeTemplate, restoreReseeded } from './vmTimings.js';
import { ms, summarize, table } from './stats.js';
import type { Summary } from './stats.js';

const WARM_RUNS = 200;
const ONE_SHOT_RUNS = 30;
const BOOTS = 5;
const RESTORES = 20;
const THROUGHPUT_SECONDS = 10;
/** Pause between paced runs: a person pressing Run, not a loop. */
const PACED_GAP_MS = 100;
const HELLO = 'print("hello")';

interface Timed {
  readonly firstByteMs: number;
  readonly exitMs: number;
}

/** Host baseline: `python3 -c "print('hello')"` spawned by Node. */
async function hostPython(runs: number): Promise<{ ttfb: Summary; exit: Summary; python: string }> {
  // Debian's interpreter (the guest's too). A `python3` on PATH may be a slow
  // shim (pyenv), so resolve the real binary instead of timing a wrapper.
  const python = existsSync('/usr/bin/python3')
    ? '/usr/bin/python3'
    : spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
  const version = spawnSync(python, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const first: number[] = [];
  const exit: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(python, ['-c', "print('hello')"], { stdio: ['ignore', 'pipe', 'ignore'] });
      child.stdout.once('data', () => first.push(performance.now() - t0));
      child.once('error', reject);
      child.once('close', () => {
        exit.push(performance.now() - t0);
        resolve();
      });
    });
  }
  return { ttfb: summarize(first), exit: summarize(exit), python: `${python} (${version})` };
}

/** Where a sandbox listens and the token it wants. */
export interface SandboxTarget {
  readonly url: string;
  readonly token: string;
}

/** One `POST /run` as the gateway sends it, timing the first stdout byte and the exit event; `jobId` is the sandbox's. */
export function timedRun(sandbox: SandboxTarget, agent: Agent, body: object): Promise<Timed & { status: string; jobId: string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let firstByteMs = NaN;
    let buf = '';
    const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload), Authorization: `Bearer ${sandbox.token}` };
    const req = request(`${sandbox.url}/run`, { method: 'POST', agent, headers }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const ev = JSON.parse(buf.slice(0, nl)) as { type: string; status?: string; message?: string };
          buf = buf.slice(nl + 1);
          if (ev.type === 'stdout' && Number.isNaN(firstByteMs)) firstByteMs = performance.now() - t0;
          if (ev.type === 'exit') resolve({ firstByteMs, exitMs: performance.now() - t0, status: ev.status ?? '?', jobId: String(res.headers['x-job-id'] ?? '') });
          if (ev.type === 'error' && !ev.message?.includes('VM')) reject(new Error(ev.message));
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function driverTimings(log: (m: string) => void): Promise<{ boot: Summary; restore: Summary; template: number; firstRun: Summary; accel: string }> {
  const image = guestImage(defaultCacheDir());
  const runDir = mkdtempSync(join(tmpdir(), 'cc-bench-drv-'));
  const driver = new QemuDriver({ kernel: image.kernel, initramfs: image.initramfs, rootfs: image.rootfs, runDir, logger: silentLogger, probeCacheDir: defaultCacheDir() });
  await driver.init();
  const shape = shapeFor(128, 1);
  try {
    const boots = await coldBoots({ driver, shape, n: BOOTS, readyTimeoutMs: 60_000, log });
    const { template, saveMs: templateMs } = await makeTemplate({ driver, shape, readyTimeoutMs: 60_000 });
    const restores: number[] = [];
    const firstRuns: number[] = [];
    for (let i = 0; i < RESTORES; i++) {
      const { vm, agent, ms: restoreMs } = await restoreReseeded(driver, template);
      restores.push(restoreMs);
      const r0 = performance.now();
      const [stage] = planStages({ runtime: 'py', entry: 'main.py', paths: ['main.py'], acceleration: driver.acceleration, memoryMb: 128, timeoutMs: 10_000, compileMemoryMb: 128, compileTimeoutMs: 10_000 });
      const run = agent.exec({
        files: [{ path: 'main.py', contentB64: Buffer.from(HELLO).toString('base64') }],
        stdinB64: '',
        stdinOpen: false,
        stages: stage ? [{ name: stage.name, argv: stage.argv, env: stage.env, memoryBytes: 128 << 20, ...(stage.warm ? { warm: stage.warm } : {}) }] : [],
        limits: { pids: 64, outputBytes: 4096, fileSizeBytes: 1 << 20, openFiles: 64 },
      });
      for await (const ev of run.events) if (ev.type === 'exit') firstRuns.push(performance.now() - r0);
      agent.dispose();
      await vm.destroy();
    }
    log(`restore p50 ${ms(summarize(restores).p50)} ms`);
    return { boot: summarize(boots), restore: summarize(restores), template: templateMs, firstRun: summarize(firstRuns), accel: `${driver.acceleration} (${driver.accelerationReason})` };
  } finally {
    await driver.dispose();
    rmSync(runDir, { recursive: true, force: true });
  }
}

/** Per QEMU process, mean over the pool's idle clones: RSS, PSS, and the private part of PSS (what the clone wrote itself). */
/** Idle clone PSS before issue 10's languages (Python-only image, BENCHMARKS.md of aa377f4). */
const PSS_BEFORE_LANGUAGES_MB = 61;

function idleVmMemory(): { rssMb: number; pssMb: number; privateMb: number; n: number } {
  const pids = childProcesses(process.pid, /^qemu-system/);
  const kb = (text: string, field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  let rss = 0;
  let pss = 0;
  let priv = 0;
  for (const pid of pids) {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    rss += kb(text, 'Rss');
    pss += kb(text, 'Pss');
    priv += kb(text, 'Private_Clean') + kb(text, 'Private_Dirty');
  }
  const n = Math.max(1, pids.length);
  return { rssMb: rss / 1024 / n, pssMb: pss / 1024 / n, privateMb: priv / 1024 / n, n: pids.length };
}

async function throughput(o: { base: SandboxTarget; clients: number; session: boolean; seconds: number }): Promise<{ rps: number; ok: number; bad: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: o.clients });
  const body = (c: number) => ({ language: 'py', source: HELLO, ...(o.session ? { sessionId: `bench-tp-${o.clients}-${c}` } : {}) });
  if (o.session) await Promise.all(Array.from({ length: o.clients }, (_, c) => timedRun(o.base, agent, body(c)))); // attach VMs first
  let ok = 0;
  let bad = 0;
  const end = performance.now() + o.seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: o.clients }, async (_, c) => {
      while (performance.now() < end) {
        const r = await timedRun(o.base, agent, body(c)).catch(() => ({ status: 'error' }));
        if (r.status === 'ok') ok++;
        else bad++;
      }
    }),
  );
  agent.destroy();
  return { rps: ok / ((performance.now() - t0) / 1000), ok, bad };
}

export const sandboxBench: BenchSuite = {
  name: 'sandbox',
  async run(log) {
    log('host baseline');
    const host = await hostPython(WARM_RUNS);
    log('driver: cold boots and snapshot restores');
    const drv = await driverTimings(log);
    const runDir = mkdtempSync(join(tmpdir(), 'cc-bench-sb-'));
    const sandbox = await createSandbox(loadConfig({ POOL_SIZE: '4', SANDBOX_RUN_DIR: runDir, LOG_LEVEL: 'silent', MAX_CONCURRENT_RUNS: '4', MAX_QUEUED_RUNS: '64' }), silentLogger);
    await sandbox.listen(0, '127.0.0.1');
    const base: SandboxTarget = { url: sandbox.url(), token: sandbox.token };
    try {
      while (sandbox.pool.stats().idle < 4) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 1000)); // let the pool settle before measuring memory
      const mem = idleVmMemory();
      log(`idle VM memory: RSS ${mem.rssMb.toFixed(0)} MiB, PSS ${mem.pssMb.toFixed(0)} MiB over ${mem.n} VMs`);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      await timedRun(base, agent, { language: 'py', source: HELLO, sessionId: 'bench-warm' });
      const warm: Timed[] = [];
      for (let i = 0; i < WARM_RUNS; i++) warm.push(await timedRun(base, agent, { language: 'py', source: HELLO, sessionId: 'bench-warm' }));
      log(`warm session runs, back to back: first byte p50 ${ms(summarize(warm.map((w) => w.firstByteMs)).p50)} ms`);
      const paced: Timed[] = [];
      for (let i = 0; i < WARM_RUNS; i++) {
        await new Promise((r) => setTimeout(r, PACED_GAP_MS));
        paced.push(await timedRun(base, agent, { language: 'py', source: HELLO, sessionId: 'bench-warm' }));
      }
      log(`warm session runs, ${PACED_GAP_MS} ms apart: first byte p50 ${ms(summarize(paced.map((w) => w.firstByteMs)).p50)} ms`);
      const oneShot: Timed[] = [];
      for (let i = 0; i < ONE_SHOT_RUNS; i++) {
        while (sandbox.pool.stats().idle === 0) await new Promise((r) => setTimeout(r, 20));
        oneShot.push(await timedRun(base, agent, { language: 'py', source: HELLO }));
      }
      agent.destroy();
      const tp: string[][] = [];
      for (const clients of [1, 4, 16]) {
        const s = await throughput({ base, clients, session: true, seconds: THROUGHPUT_SECONDS });
        log(`${clients} clients (sessions): ${s.rps.toFixed(1)} runs/s`);
        const o = await throughput({ base, clients, session: false, seconds: THROUGHPUT_SECONDS });
        log(`${clients} clients (fresh VM per run): ${o.rps.toFixed(1)} runs/s`);
        tp.push([String(clients), s.rps.toFixed(1), `${s.ok}/${s.ok + s.bad}`, o.rps.toFixed(1), `${o.ok}/${o.ok + o.bad}`]);
      }
      return report({ host, drv, warm, paced, oneShot, tp, mem });
    } finally {
      await sandbox.dispose();
      rmSync(runDir, { recursive: true, force: true });
    }
  },
};

function report(r: {
  host: Awaited<ReturnType<typeof hostPython>>;
  drv: Awaited<ReturnType<typeof driverTimings>>;
  warm: Timed[];
  paced: Timed[];
  oneShot: Timed[];
  tp: string[][];
  mem: ReturnType<typeof idleVmMemory>;
}): string {
  const wf = summarize(r.warm.map((w) => w.firstByteMs));
  const we = summarize(r.warm.map((w) => w.exitMs));
  const pf = summarize(r.paced.map((w) => w.firstByteMs));
  const pe = summarize(r.paced.map((w) => w.exitMs));
  const of = summarize(r.oneShot.map((w) => w.firstByteMs));
  const oe = summarize(r.oneShot.map((w) => w.exitMs));
  const row = (name: string, s: Summary) => [name, s.n, ms(s.p50), ms(s.p95), ms(s.p99), ms(s.min), ms(s.max)];
  const ratio = pf.p50 / r.host.ttfb.p50;
  const ratioB2b = wf.p50 / r.host.ttfb.p50;
  const verdict = (ok: boolean) => (ok ? 'met' : '**not met**');
  return [
    `Acceleration: ${r.drv.accel}. Guest: 1 vCPU, ${shapeFor(128, 1).memMb} MiB RAM. Baseline: ${r.host.python}.`,
    '',
    '### Latency (ms)',
    '',
    table(['measurement', 'n', 'p50', 'p95', 'p99', 'min', 'max'], [
      row('**baseline**: host `python3 -c "print(\'hello\')"`, spawn → first stdout byte', r.host.ttfb),
      row('**baseline**: host python, spawn → exit', r.host.exit),
      row(`warm run (session VM), runs ${PACED_GAP_MS} ms apart, \`POST /run\` → first stdout byte`, pf),
      row(`warm run (session VM), runs ${PACED_GAP_MS} ms apart, \`POST /run\` → exit event`, pe),
      row('warm run (session VM), back to back, `POST /run` → first stdout byte', wf),
      row('warm run (session VM), back to back, `POST /run` → exit event', we),
      row('fresh VM from the pool per run, → first stdout byte', of),
      row('fresh VM from the pool per run, → exit event', oe),
      row('cold boot → agent ready', r.drv.boot),
      row('snapshot restore → agent ready (restore + reseed)', r.drv.restore),
      row('first run in a just-restored VM (no warm-up), exec → exit', r.drv.firstRun),
    ]),
    '',
    `Snapshot template creation (pause + save device state; RAM stays in the shared file): ${ms(r.drv.template)} ms.`,
    '',
    '### Throughput (`print("hello")` runs per second, 10 s per row)',
    '',
    table(['clients', 'runs/s, each client its own session VM', 'ok/total', 'runs/s, fresh VM per run', 'ok/total'], r.tp),
    '',
    '### Memory',
    '',
    `Idle warm VM (snapshot clone after warm-up): RSS ${r.mem.rssMb.toFixed(0)} MiB, PSS ${r.mem.pssMb.toFixed(0)} MiB per QEMU process (mean of ${r.mem.n}), of which ${r.mem.privateMb.toFixed(0)} MiB private (what the clone wrote itself) and ${(r.mem.pssMb - r.mem.privateMb).toFixed(0)} MiB its share of the template's RAM; PSS counts that shared RAM once across clones.`,
    '',
    '### Targets',
    '',
    table(['target', 'measured', 'verdict'], [
      ['warm p50 first byte ≤ 3× host baseline (runs paced)', `${ms(pf.p50)} vs ${ms(r.host.ttfb.p50)} ms (${ratio.toFixed(1)}×)`, verdict(ratio <= 3)],
      ['warm p50 first byte ≤ 3× host baseline (back to back)', `${ms(wf.p50)} vs ${ms(r.host.ttfb.p50)} ms (${ratioB2b.toFixed(1)}×)`, verdict(ratioB2b <= 3)],
      ['warm p99 first byte < 150 ms (runs paced)', `${ms(pf.p99)} ms`, verdict(pf.p99 < 150)],
      ['warm p99 first byte < 150 ms (back to back)', `${ms(wf.p99)} ms`, verdict(wf.p99 < 150)],
      ['snapshot restore → ready < 300 ms', `p50 ${ms(r.drv.restore.p50)} ms`, verdict(r.drv.restore.p50 < 300)],
      [`idle VM PSS ≤ ${PSS_BEFORE_LANGUAGES_MB} MiB (issue 10: no worse than before it)`, `${r.mem.pssMb.toFixed(0)} MiB`, verdict(r.mem.pssMb <= PSS_BEFORE_LANGUAGES_MB)],
    ]),
  ].join('\n');
}
