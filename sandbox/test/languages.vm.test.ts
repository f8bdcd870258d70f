/**
 * Every runtime of the runtime table in real microVMs (issue 10): its
 * hello-world template; a two-file program that echoes stdin and exits 3; a
 * runtime error with its message; a timeout; a memory limit; and for compiled
 * languages a compile error with its parsed diagnostic. Test names cite
 * guest/SPEC.md rules. The runs of one language share a session VM, so all but
 * the first compile of a program come from the build cache (SPEC 3.8), and
 * runtimes that start ahead are warm from the second run on (SPEC 3.6).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIMES, TEMPLATE_OUTPUT, helloTemplate, isCompiled } from '@codecell/protocol';
import type { DiagnosticsEvent, RunRequest, StageEvent } from '@codecell/protocol';
import { loadConfig } from '../src/config.js';
import { createSandbox } from '../src/server/createSandbox.js';
import { shapeFor } from '../src/runs/runPlan.js';
import type { Sandbox } from '../src/server/createSandbox.js';
import { silentLogger } from '@codecell/server-kit';
import { collect } from './runHelpers.js';
import type { Collected } from './runHelpers.js';
import { LANGUAGE_CASES } from './languageCases.js';
import type { LanguageCase } from './languageCases.js';

/** Under TCG a cold tsc or javac takes a minute or more on a loaded 2-core machine; the tests are not about speed. */
const COMPILE_TIMEOUT_MS = 280_000;
/** Two VMs compile at once: the machine has two cores. */
const PARALLEL = 2;
/** One language's whole sequence, waiting for its slot included (a cold tsc or javac is minutes under TCG). */
const LANGUAGE_TIMEOUT_MS = 30 * 60_000;

let sb: Sandbox;

beforeAll(async () => {
  const base = mkdtempSync(join(tmpdir(), 'cc-lang-'));
  const config = loadConfig({ POOL_SIZE: '2', SANDBOX_RUN_DIR: base, MAX_RUN_TIMEOUT_MS: '300000', SESSION_IDLE_MS: '600000', MAX_CONCURRENT_RUNS: '2' });
  sb = await createSandbox(config, silentLogger);
});
afterAll(async () => {
  await sb?.dispose();
});

function run(c: LanguageCase, extra: Partial<RunRequest> & { stdin?: string }): Promise<Collected> {
  const [entry, ...rest] = c.files;
  return collect(
    sb.runs.start({
      language: c.id,
      source: entry?.content ?? '',
      entry: entry?.path,
      files: rest,
      sessionId: `lang-${c.id}`,
      ...extra,
      limits: { compileTimeoutMs: COMPILE_TIMEOUT_MS, timeoutMs: 60_000, ...extra.limits },
    }),
  );
}

const stages = (r: Collected): StageEvent[] => r.events.filter((e): e is StageEvent => e.type === 'stage');
const diagnostics = (r: Collected): DiagnosticsEvent['diagnostics'] =>
  r.events.flatMap((e) => (e.type === 'diagnostics' ? e.diagnostics : []));

/** At most PARALLEL languages run at once (the others wait for a slot). */
const waiting: Array<() => void> = [];
let running = 0;
async function withSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= PARALLEL) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Per language: the template, then the two-file program four ways, then a compile error; one session VM. */
async function languageSuite(c: LanguageCase): Promise<void> {
  const t0 = performance.now();
  const times: string[] = [];
  const timed = async (what: string, p: Promise<Collected>): Promise<Collected> => {
    const s = performance.now();
    const r = await p;
    times.push(`${what} ${((performance.now() - s) / 1000).toFixed(1)}s`);
    return r;
  };
  const compiled = isCompiled(c.id);

  // The hello-world template (SPEC 3.5: compile then run for compiled languages).
  const [file] = helloTemplate(c.id);
  const hello = await timed('hello', run(c, { source: file?.content ?? '', entry: file?.path, files: [], stdin: '' }));
  expect(hello.exit?.status, hello.stderr).toBe('ok');
  expect(hello.stdout).toBe(TEMPLATE_OUTPUT);
  expect(stages(hello).map((s) => s.name)).toEqual(compiled ? ['compile', 'run'] : ['run']);

  // Two files built together, stdin echoed, exit code 3 passed through.
  const exit3 = await timed('exit3', run(c, { stdin: 'exit\n' }));
  expect(exit3.stdout, exit3.stderr).toBe('hello from helper: 42\necho: exit\n');
  expect(exit3.exit).toMatchObject({ status: 'runtime_error', code: 3 });
  if (compiled) expect(exit3.exit?.compile?.code).toBe(0);

  // A runtime error with its message; the same sources are not compiled again (SPEC 3.8).
  const crash = await timed('crash', run(c, { stdin: 'crash\n' }));
  expect(crash.exit?.status, crash.stderr).toBe('runtime_error');
  expect(crash.stderr).toMatch(c.crash);
  expect(crash.stdout).toContain('echo: crash');
  if (compiled) expect(stages(crash)[0]).toMatchObject({ name: 'compile', cached: true });

  // A program that never stops (SPEC 4.1), and one that allocates without end (SPEC 3.3). The
  // limit leaves the runtime time to start and print first: half as long again as the crash took (which
  // started the same way, from a warm process primed after the run before), plus 2 s, at least 3 s.
  const spinLimitMs = Math.max(3000, Math.ceil(1.5 * (crash.exit?.wallMs ?? 0)) + 2000);
  const spin = await timed('spin', run(c, { stdin: 'spin\n', limits: { timeoutMs: spinLimitMs } }));
  expect(spin.exit?.status, spin.stderr).toBe('timeout');
  expect(spin.exit?.wallMs).toBeGreaterThanOrEqual(spinLimitMs * 0.9);
  expect(spin.stdout).toContain('echo: spin');
  const alloc = await timed('alloc', run(c, { stdin: 'alloc\n', limits: { memoryMb: 64, timeoutMs: 60_000 } }));
  expect(alloc.exit?.status, alloc.stderr.slice(-500)).toBe('memory_limit');

  // A compile error: compile_error, the compiler's diagnostic at the right line, no run stage (SPEC 3.5).
  if (c.compileError) {
    const entry = RUNTIMES[c.id].entry;
    const bad = await timed('compile error', run(c, { source: c.compileError.source, entry, files: [] }));
    expect(bad.exit?.status, bad.stderr).toBe('compile_error');
    expect(stages(bad).map((s) => s.name)).toEqual(['compile']);
    const errors = diagnostics(bad).filter((d) => d.severity === 'error');
    expect(errors[0], JSON.stringify(bad.stderr + bad.stdout)).toMatchObject({ file: entry, line: c.compileError.line });
    expect(errors[0]?.message).toMatch(c.compileError.message);
    // The raw compiler output is still in the output stream.
    expect(bad.stderr + bad.stdout).toMatch(c.compileError.message);
  }
  console.log(`[languages] ${c.id}: ${((performance.now() - t0) / 1000).toFixed(0)} s (${times.join(', ')})`);
}

/** One session, three languages: each run sees what the one before it left in /workspace (SPEC 3.4). */
async function mixedSession(): Promise<void> {
  const start = (language: RunRequest['language'], source: string) =>
    collect(sb.runs.start({ language, source, sessionId: 'lang-mixed', limits: { timeoutMs: 60_000 } }));
  const sh = await start('sh', 'echo 41 > shared.txt\n');
  expect(sh.exit?.status, sh.stderr).toBe('ok');
  const py = await start('py', 'n = int(open("shared.txt").read())\nopen("shared.txt", "w").write(str(n + 1))\nprint(n)\n');
  expect(py.exit?.status, py.stderr).toBe('ok');
  expect(py.stdout).toBe('41\n');
  expect(py.vmId).toBe(sh.vmId);
  const rb = await start('rb', 'puts File.read("shared.txt")\n');
  expect(rb.exit?.status, rb.stderr).toBe('ok');
  expect(rb.stdout).toBe('42\n');
  expect(rb.vmId).toBe(sh.vmId);
}

/**
 * numpy is imported in the snapshot template (SPEC 3.7), so its global random
 * state would be the template's in every clone and every run: each run must
 * reseed it from the guest's (reseeded) entropy, like a fresh interpreter.
 */
async function numpyRandom(): Promise<void> {
  const source = 'import numpy\nprint(numpy.random.randint(0, 2**62), numpy.random.rand())\n';
  const draw = async (sessionId: string | undefined): Promise<string> => {
    const r = await collect(sb.runs.start({ language: 'py', source, ...(sessionId ? { sessionId } : {}), limits: { timeoutMs: 60_000 } }));
    expect(r.exit?.status, r.stderr).toBe('ok');
    return r.stdout;
  };
  const sameVm = [await draw('lang-numpy'), await draw('lang-numpy')];
  const otherVms = [await draw(undefined), await draw(undefined)];
  expect(new Set([...sameVm, ...otherVms]).size).toBe(4);
}

/** How long a runtime started ahead may take to prime under TCG on a loaded 2-core host (javac's is the longest). */
const PRIME_DEADLINE_MS = 240_000;

/** Whether a stage of `id` starts its runtime ahead in a launcher of its own (node, ruby, the JVM; not Python's fork). */
function startsAhead(id: LanguageCase['id']): boolean {
  const spec = RUNTIMES[id];
  return [spec.compile, spec.run].some((s) => s?.warm !== undefined && s.warm.kind !== 'python');
}

/**
 * A runtime the agent started ahead in the language's session VM says it is
 * primed (SPEC 3.6: the launcher writes a byte on fd 4). The JVM's launcher
 * reopens fd 4 through /proc as the run user, so a ready pipe only root may
 * open left every Java runtime unready for ever. One is enough: the last
 * cases' runtimes (javac, a JVM in the 64 MiB memory-limit case) may still be
 * priming on a loaded host, where TCG makes that minutes.
 */
async function warmRuntimesReady(id: LanguageCase['id']): Promise<void> {
  const end = Date.now() + PRIME_DEADLINE_MS;
  let warm: Array<{ kind: string; ready: boolean }> = [];
  await sb.sessions.withSharedVm({ sessionId: `lang-${id}`, shape: shapeFor(128, 1) }, async ({ vm }) => {
    for (;;) {
      warm = (await vm.agent.waitReady({ timeoutMs: 10_000 })).warm ?? [];
      if (warm.some((w) => w.ready) || Date.now() > end) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
  });
  expect(warm.length, `${id}: no runtime started ahead`).toBeGreaterThan(0);
  expect(warm.filter((w) => w.ready), `${id}: none of the runtimes started ahead primed within ${PRIME_DEADLINE_MS} ms: ${JSON.stringify(warm)}`).not.toEqual([]);
}

/** The slowest first, so the two slots finish together (longest-first scheduling): compilers under TCG dominate. */
const SLOWEST_FIRST: readonly string[] = ['ts', 'cpp', 'rs', 'java', 'go', 'js', 'c', 'rb', 'sh', 'py'];
const bySlowest = (a: LanguageCase, b: LanguageCase): number => SLOWEST_FIRST.indexOf(a.id) - SLOWEST_FIRST.indexOf(b.id);

describe.concurrent('every language (SPEC 3.1-3.8)', () => {
  for (const c of [...LANGUAGE_CASES].sort(bySlowest)) {
    const ahead = startsAhead(c.id);
    it(`${RUNTIMES[c.id].name} (${c.id}): template, two files, stdin, exit 3, runtime error, timeout, memory limit${c.compileError ? ', compile error' : ''}${ahead ? ', runtimes started ahead report primed (SPEC 3.6)' : ''}`, async () => {
      await withSlot(() => languageSuite(c));
      // Outside the slot: priming goes on in the background while other languages run.
      if (ahead) await warmRuntimesReady(c.id);
    }, LANGUAGE_TIMEOUT_MS);
  }
  it('numpy draws fresh random numbers in every run and every VM (SPEC 3.7)', () => withSlot(numpyRandom), LANGUAGE_TIMEOUT_MS);
  it('a session keeps /workspace across runs in different languages (SPEC 3.4)', () => withSlot(mixedSession), LANGUAGE_TIMEOUT_MS);
});
