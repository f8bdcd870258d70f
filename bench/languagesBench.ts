/**
 * Languages benchmark (issue 10): per runtime, hello world (compile + run for
 * compiled languages) to first output and to exit, in a VM cold (the first
 * run in a fresh pooled VM) and warm (later runs in the same VM, each after the
 * runtimes it starts ahead are primed, each with a fresh source so the build
 * cache never answers), beside the same toolchain on the host: the guest
 * image's root mounted and chrooted into, running the same argv. Also
 * `import numpy, pandas` in a warm VM, and the image's size and build time.
 *
 * Under TCG this takes about an hour (TypeScript and Java most of it), so each
 * language's samples are kept as soon as it is done (a JSON file beside the
 * guest image, per image): `BENCH_LANGUAGES=java,rb npm run bench -- languages`
 * measures only those and reports them with the kept ones of the same image;
 * `BENCH_LANGUAGES=none` only writes the report of the kept ones.
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { BUILD_DIR, DEFAULT_COMPILE_LIMITS, RUNTIMES, RUNTIME_IDS, helloTemplate, isCompiled } from '@codecell/protocol';
import type { RuntimeId } from '@codecell/protocol';
import { defaultCacheDir, guestImage, readManifest } from '@codecell/guest';
import { silentLogger } from '@codecell/server-kit';
import type { AgentConnection } from '../sandbox/src/agent/AgentConnection.js';
import { loadConfig } from '../sandbox/src/config.js';
import { planStages } from '../sandbox/src/runs/stageCommands.js';
import { shapeFor } from '../sandbox/src/runs/runPlan.js';
import type { PlannedStage } from '../sandbox/src/runs/stageCommands.js';
import { createSandbox } from '../sandbox/src/server/createSandbox.js';
import type { BenchSuite } from './run.js';
import { ms, summarize, table } from './stats.js';
import type { Summary } from './stats.js';

const WARM_RUNS = 20;
/** Python's warm runs are ~0.1 s and its target is a p99: 100 of them, so the p99 is not just the slowest of 20. */
const WARM_RUNS_PY = 100;
/** Between warm runs, after the runtimes started ahead say they are primed: as the sandbox bench's paced runs (a Python run's forked interpreter reports no readiness; it is prepared in less). */
const WARM_GAP_MS = 100;
const COLD_RUNS = 3;
const HOST_RUNS = 20;
const NUMPY_RUNS = 5;
/** How long a warm runtime may take to prime under TCG before the bench gives up waiting. */
const PRIME_WAIT_MS = 240_000;
/** One hello world (compile included) that has not exited after this long is stuck: it is killed and reported. */
const EXEC_TIMEOUT_MS = 300_000;
const COMMENT: Readonly<Record<RuntimeId, string>> = { py: '#', js: '//', ts: '//', go: '//', c: '//', cpp: '//', rs: '//', java: '//', rb: '#', sh: '#' };

interface Timing {
  readonly ttfbMs: number;
  readonly exitMs: number;
}

function stagesFor(id: RuntimeId, acceleration: 'kvm' | 'tcg' | 'none'): PlannedStage[] {
  const entry = RUNTIMES[id].entry;
  return planStages({ runtime: id, entry, paths: [entry], acceleration, memoryMb: 128, timeoutMs: 60_000, compileMemoryMb: DEFAULT_COMPILE_LIMITS.compileMemoryMb, compileTimeoutMs: 300_000 });
}

function source(id: RuntimeId, i: number): string {
  return `${helloTemplate(id)[0]?.content ?? ''}\n${COMMENT[id]} run ${i}\n`;
}

/** One exec on the agent: hello world of `id`, compile included. */
async function execOnce(agent: AgentConnection, o: { id: RuntimeId; stages: PlannedStage[]; src: string }): Promise<Timing> {
  const t0 = performance.now();
  let ttfbMs = NaN;
  const run = agent.exec({
    files: [{ path: RUNTIMES[o.id].entry, contentB64: Buffer.from(o.src).toString('base64') }],
    stdinB64: '',
    stdinOpen: false,
    stages: o.stages.map((s) => ({ name: s.name, argv: s.argv, env: s.env, memoryBytes: s.memoryMb << 20, ...(s.warm ? { warm: s.warm } : {}) })),
    ...(o.stages.length > 1 ? { buildDir: BUILD_DIR } : {}),
    limits: { pids: 256, outputBytes: 1 << 20, fileSizeBytes: 64 << 20, openFiles: 1024 },
  });
  let stderr = '';
  let stdout = '';
  let stuck = false;
  let giveUp: (err: Error) => void = () => undefined;
  const abandoned = new Promise<never>((_, reject) => (giveUp = reject));
  abandoned.catch(() => undefined);
  // Killed at the deadline; if even that brings no exit (the agent itself stuck), given up 15 s later.
  let last: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    stuck = true;
    run.signal('SIGKILL');
    last = setTimeout(() => giveUp(new Error(`${o.id} hello had not exited ${EXEC_TIMEOUT_MS} ms after it started, nor 15 s after SIGKILL: the guest agent is not answering (stdout so far ${JSON.stringify(stdout.slice(-200))}, stderr ${JSON.stringify(stderr.slice(-400))})`)), 15_000);
  }, EXEC_TIMEOUT_MS);
  const events = run.events[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await Promise.race([events.next(), abandoned]);
      if (next.done) break;
      const ev = next.value;
      if (ev.type === 'stdout' && Number.isNaN(ttfbMs)) ttfbMs = performance.now() - t0;
      if (ev.type === 'stdout') stdout += ev.data.toString();
      if (ev.type === 'stderr') stderr += ev.data.toString();
      if (ev.type === 'exit' && (ev.exit.code !== 0 || stuck)) {
        const why = stuck ? `had not exited after ${EXEC_TIMEOUT_MS} ms (killed; stdout so far ${JSON.stringify(stdout.slice(-200))})` : `failed (${ev.exit.stage}, code ${ev.exit.code})`;
        throw new Error(`${o.id} hello ${why}: ${stderr.slice(-400)}`);
      }
    }
  } finally {
    clearTimeout(timer);
    clearTimeout(last);
  }
  return { ttfbMs, exitMs: performance.now() - t0 };
}

/** Waits until every runtime the agent started ahead reports primed; an error if one never does. */
async function primed(agent: AgentConnection): Promise<void> {
  const end = Date.now() + PRIME_WAIT_MS;
  for (;;) {
    const r = await agent.waitReady({ timeoutMs: 5_000 });
    const waiting = (r.warm ?? []).filter((w) => !w.ready);
    if (waiting.length === 0) return;
    if (Date.now() > end) throw new Error(`runtimes started ahead not primed after ${PRIME_WAIT_MS} ms: ${waiting.map((w) => w.kind).join(', ')}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** The host runs: the image mounted read-only and chrooted into (needs root for the loop mount). */
async function hostBaseline(log: (m: string) => void, ids: readonly RuntimeId[]): Promise<Record<string, { ttfb: number[]; exit: number[] }> | undefined> {
  if (process.getuid?.() !== 0) {
    log('not root: no host baseline (it mounts the root image)');
    return undefined;
  }
  const image = guestImage(defaultCacheDir());
  const mnt = mkdtempSync(join(tmpdir(), 'cc-bench-root-'));
  const cases = ids.map((id) => ({
    id,
    comment: COMMENT[id],
    files: [{ path: RUNTIMES[id].entry, content: helloTemplate(id)[0]?.content ?? '' }],
    stages: stagesFor(id, 'kvm').map((s) => ({ argv: s.argv, env: s.env })),
  }));
  const script = readFileSync(join(import.meta.dirname, 'hostToolchain.py'), 'utf8');
  const sh =
    'set -e; r="$1"; mount -t ' + image.rootfsFormat + ' -o loop,ro "$2" "$r"; mount -t tmpfs t "$r/tmp"; mount -t tmpfs w "$r/workspace"; ' +
    'mount --rbind /dev "$r/dev"; mount -t proc p "$r/proc"; exec chroot "$r" /usr/bin/env -i PATH=/usr/bin:/bin /usr/bin/python3 -c "$3"';
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('unshare', ['--mount', '--pid', '--fork', '--propagation', 'private', 'sh', '-c', sh, 'sh', mnt, image.rootfs, script], { stdio: ['pipe', 'pipe', 'pipe'] });
      let text = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`host baseline failed (${code}): ${err.slice(-1000)}`))));
      child.stdin.end(JSON.stringify({ runs: HOST_RUNS, cases }));
    });
    return JSON.parse(out) as Record<string, { ttfb: number[]; exit: number[] }>;
  } finally {
    rmSync(mnt, { recursive: true, force: true });
  }
}

interface LanguageResult {
  readonly id: RuntimeId;
  readonly cold: { ttfb: Summary; exit: Summary };
  readonly warm: { ttfb: Summary; exit: Summary };
  readonly host: { ttfb: Summary; exit: Summary } | undefined;
  /** When it was measured (ISO time). */
  readonly at: string;
}

/** Results kept per language for one root image, so a run of some languages reports all of them. */
interface Kept {
  readonly rootfs: string;
  results: Partial<Record<RuntimeId, LanguageResult>>;
  numpy?: Summary;
  /** The acceleration the samples were taken under. */
  accel?: string;
}

function keptFile(): string {
  return join(guestImage(defaultCacheDir()).dir, 'bench-languages.json');
}

function loadKept(rootfs: string): Kept {
  try {
    const k = JSON.parse(readFileSync(keptFile(), 'utf8')) as Kept;
    // The same root image (its content-keyed directory), whichever cache directory holds it.
    if (basename(dirname(k.rootfs)) === basename(dirname(rootfs))) return { ...k, rootfs };
  } catch {
    // none kept yet
  }
  return { rootfs, results: {} };
}

/** BENCH_LANGUAGES=java,rb: only those; `none`: only the report of the kept ones; default every runtime. */
function wantedLanguages(): readonly RuntimeId[] {
  if (process.env['BENCH_LANGUAGES']?.trim() === 'none') return [];
  const asked = (process.env['BENCH_LANGUAGES'] ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  const unknown = asked.filter((x) => !(RUNTIME_IDS as readonly string[]).includes(x));
  if (unknown.length > 0) throw new Error(`BENCH_LANGUAGES: unknown runtime ${unknown.join(', ')} (known: ${RUNTIME_IDS.join(', ')})`);
  return asked.length > 0 ? (asked as RuntimeId[]) : RUNTIME_IDS;
}

export const languagesBench: BenchSuite = {
  name: 'languages',
  async run(log) {
    const ids = wantedLanguages();
    const kept = loadKept(guestImage(defaultCacheDir()).rootfs);
    if (ids.length === 0) {
      const results = RUNTIME_IDS.flatMap((id) => (kept.results[id] ? [kept.results[id]] : []));
      return report({ results, numpy: kept.numpy, accel: kept.accel ?? 'unknown', manifest: readManifest(guestImage(defaultCacheDir())) });
    }
    log(`host baseline: the image chrooted (${ids.join(', ')})`);
    const host = await hostBaseline(log, ids);
    const runDir = mkdtempSync(join(tmpdir(), 'cc-bench-lang-'));
    const sandbox = await createSandbox(loadConfig({ POOL_SIZE: '2', SANDBOX_RUN_DIR: runDir, LOG_LEVEL: 'silent' }), silentLogger);
    const accel = sandbox.driver.acceleration;
    const shape = shapeFor(128, 1); // the pool's
    try {
      for (const id of ids) {
        const stages = stagesFor(id, accel);
        const cold: Timing[] = [];
        for (let i = 0; i < COLD_RUNS; i++) {
          const vm = await sandbox.pool.acquire(shape);
          try {
            cold.push(await execOnce(vm.agent, { id, stages, src: source(id, 1000 + i) }));
          } finally {
            await sandbox.pool.release(vm);
          }
        }
        const vm = await sandbox.pool.acquire(shape);
        const warm: Timing[] = [];
        try {
          await execOnce(vm.agent, { id, stages, src: source(id, 2000) });
          for (let i = 0; i < (id === 'py' ? WARM_RUNS_PY : WARM_RUNS); i++) {
            await primed(vm.agent);
            await new Promise((r) => setTimeout(r, WARM_GAP_MS));
            warm.push(await execOnce(vm.agent, { id, stages, src: source(id, i) }));
          }
          if (id === 'py') {
            const np: number[] = [];
            for (let i = 0; i < NUMPY_RUNS; i++) {
              const t = await execOnce(vm.agent, { id, stages, src: `import numpy, pandas\nprint(pandas.DataFrame({"a": numpy.arange(3)}).a.sum())\n# ${i}\n` });
              np.push(t.ttfbMs);
            }
            kept.numpy = summarize(np);
          }
        } finally {
          await sandbox.pool.release(vm);
        }
        const h = host?.[id];
        const result: LanguageResult = {
          id,
          cold: { ttfb: summarize(cold.map((t) => t.ttfbMs)), exit: summarize(cold.map((t) => t.exitMs)) },
          warm: { ttfb: summarize(warm.map((t) => t.ttfbMs)), exit: summarize(warm.map((t) => t.exitMs)) },
          host: h ? { ttfb: summarize(h.ttfb), exit: summarize(h.exit) } : undefined,
          at: new Date().toISOString(),
        };
        kept.results[id] = result;
        kept.accel = accel;
        writeFileSync(keptFile(), JSON.stringify(kept));
        log(`${id}: cold p50 ${ms(result.cold.ttfb.p50)} ms, warm p50 ${ms(result.warm.ttfb.p50)} ms, host p50 ${ms(result.host?.ttfb.p50 ?? NaN)} ms`);
      }
    } finally {
      await sandbox.dispose();
      rmSync(runDir, { recursive: true, force: true });
    }
    const results = RUNTIME_IDS.flatMap((id) => (kept.results[id] ? [kept.results[id]] : []));
    return report({ results, numpy: kept.numpy, accel, manifest: readManifest(guestImage(defaultCacheDir())) });
  },
};

function report(r: { results: LanguageResult[]; numpy: Summary | undefined; accel: string; manifest: ReturnType<typeof readManifest> }): string {
  const cell = (s: Summary | undefined): string => (s ? `${ms(s.p50)} / ${ms(s.p95)}` : 'n/a');
  const rows = r.results.map((x) => [
    `${RUNTIMES[x.id].name} (${x.id}) ${r.manifest.runtimes[x.id].version}`,
    isCompiled(x.id) ? 'compile + run' : 'run',
    cell(x.host?.ttfb),
    cell(x.host?.exit),
    cell(x.cold.ttfb),
    cell(x.warm.ttfb),
    cell(x.warm.exit),
  ]);
  const targets = r.results.map((x) => {
    const ratio = x.host ? x.warm.ttfb.p50 / x.host.ttfb.p50 : NaN;
    const what = isCompiled(x.id) ? 'hello (compile + run)' : 'warm run';
    const bound = x.id === 'py' ? 3 : 10; // Python: "unchanged", at most 3x the host's python
    return [`${x.id}: ${what} ≤ ${bound}× host`, Number.isFinite(ratio) ? `${ms(x.warm.ttfb.p50)} vs ${ms(x.host?.ttfb.p50 ?? NaN)} ms (${ratio.toFixed(1)}×)` : 'no host baseline', Number.isFinite(ratio) ? (ratio <= bound ? 'met' : '**not met**') : 'n/a'];
  });
  const py = r.results.find((x) => x.id === 'py');
  if (py) targets.push(['py: warm first byte p99 < 150 ms', `p99 ${ms(py.warm.ttfb.p99)} ms over ${py.warm.ttfb.n} runs`, py.warm.ttfb.p99 < 150 ? 'met' : '**not met**']);
  if (r.numpy) targets.push(['`import numpy, pandas` + first print ≤ 1.5 s (warm VM)', `p50 ${ms(r.numpy.p50)} ms, max ${ms(r.numpy.max)} ms`, r.numpy.p50 <= 1500 ? 'met' : '**not met**']);
  const m = r.manifest;
  const missing = RUNTIME_IDS.filter((id) => !r.results.some((x) => x.id === id));
  const when = r.results.map((x) => `${x.id} ${x.at.slice(0, 16).replace('T', ' ')}`).join(', ');
  return [
    `Each language's samples were taken at (UTC): ${when}${missing.length > 0 ? `; not measured yet: ${missing.join(', ')}` : ''}.`,
    '',
    `Acceleration: ${r.accel}. Times in ms, p50 / p95, to the first stdout byte ("first") or to the exit; compiled languages include their compile. Host: the guest image's own toolchain (root image mounted and chrooted into), same argv, ${HOST_RUNS} runs, each with a fresh source. VM: agent exec in a pooled VM; cold = the first run in a fresh VM (${COLD_RUNS} VMs), warm = ${WARM_RUNS} later runs in one VM (Python: ${WARM_RUNS_PY}), each ${WARM_GAP_MS} ms after its warm runtimes were primed, each with a fresh source (the build cache never answers).`,
    '',
    table(['runtime', 'stages', 'host first', 'host exit', 'VM cold first', 'VM warm first', 'VM warm exit'], rows),
    '',
    `Image: root ${(m.imageBytes / 1048576).toFixed(0)} MiB (${m.format}, ${(m.treeBytes / 1048576).toFixed(0)} MiB of files, ${m.packages.length} Debian packages), built in ${(m.buildMs / 1000).toFixed(0)} s (${(m.packMs / 1000).toFixed(0)} s of it packing); initramfs ${(m.initramfsBytes / 1048576).toFixed(1)} MiB, built in ${(m.guestBuildMs / 1000).toFixed(0)} s.`,
    '',
    table(['target', 'measured', 'verdict'], targets),
  ].join('\n');
}
