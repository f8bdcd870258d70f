/**
 * Build-time steps that run the staged tree's own programs (in a chroot, see
 * chroot.ts), so the read-only image never has to write what a first run
 * would otherwise: Python bytecode, matplotlib's font cache, Go's build cache,
 * the compiled Java launcher, TypeScript's declarations without their doc
 * comments (guest/SPEC.md 5.4); and a check that every
 * runtime starts, which also reads its version.
 * @module
 */
import { chmod, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RUNTIMES, RUNTIME_IDS } from '@codecell/protocol';
import type { RuntimeId } from '@codecell/protocol';
import { inChroot } from './chroot.js';
import { progress } from './exec.js';
import { CODECELL_LIB } from './rootfs.js';

/** Read-only seeds of the writable caches the agent overlays at boot (guest/SPEC.md 5.3). */
export const CACHE_SEEDS = { matplotlib: `/${CODECELL_LIB}/seed/matplotlib`, go: `/${CODECELL_LIB}/seed/go` } as const;

/** Where the image keeps the declaration files tsc reads, stripped of doc comments (tsc-strip.js). */
export const TSC_DECLARATIONS = `/${CODECELL_LIB}/tsc`;

/** How each runtime reports its version (stdout and stderr are both read). */
const VERSION_COMMANDS: Readonly<Record<RuntimeId, string>> = {
  py: '/usr/bin/python3 --version',
  js: '/usr/bin/node --version',
  ts: '/usr/bin/node /usr/share/nodejs/typescript/lib/tsc.js --version',
  go: '/usr/lib/go-1.19/bin/go version',
  c: '/usr/bin/gcc -dumpfullversion',
  cpp: '/usr/bin/g++ -dumpfullversion',
  rs: '/usr/bin/rustc --version',
  java: '/usr/lib/jvm/java-17-openjdk-amd64/bin/java -version',
  rb: '/usr/bin/ruby --version',
  sh: '/bin/bash --version',
};

/** Makes `dir` and every directory under it writable by everyone (files stay read-only). */
async function openDirs(dir: string): Promise<void> {
  await chmod(dir, 0o777);
  for (const e of await readdir(dir, { withFileTypes: true })) if (e.isDirectory()) await openDirs(join(dir, e.name));
}

/** Runs every step; returns each runtime's version as the runtime itself reports it. */
export async function runBuildSteps(root: string): Promise<Record<RuntimeId, string>> {
  const chroot = (argv: readonly string[], env?: Record<string, string>): Promise<string> => inChroot({ root, env }, argv);
  progress('precompiling Python', 'stdlib and dist-packages');
  await chroot(['/usr/bin/python3.11', '-m', 'compileall', '-q', '-j', '0', '--invalidation-mode', 'unchecked-hash', '/usr/lib/python3.11', '/usr/lib/python3/dist-packages']);
  progress('seeding caches', 'matplotlib fonts, Go build cache');
  for (const dir of Object.values(CACHE_SEEDS)) await mkdir(join(root, dir), { recursive: true });
  await chroot(['/usr/bin/python3', '-c', 'import matplotlib.font_manager'], { MPLCONFIGDIR: CACHE_SEEDS.matplotlib, MPLBACKEND: 'Agg' });
  const goEnv = { ...RUNTIMES.go.compile?.env, GOCACHE: CACHE_SEEDS.go };
  await chroot(['/usr/lib/go-1.19/bin/go', 'build', 'std'], goEnv);
  // Overlaid writable in the guest, where the run's user adds entries (copy-up keeps these modes).
  for (const dir of Object.values(CACHE_SEEDS)) await openDirs(join(root, dir));
  progress('stripping TypeScript declarations', 'doc comments: half of what every compile parses');
  await chroot(['/usr/bin/node', `/${CODECELL_LIB}/tsc-strip.js`, `${TSC_DECLARATIONS}/lib`, `${TSC_DECLARATIONS}/types`]);
  progress('compiling the Java launcher');
  await chroot(['/usr/lib/jvm/java-17-openjdk-amd64/bin/javac', '-d', `/${CODECELL_LIB}/java`, `/${CODECELL_LIB}/CodecellLauncher.java`]);
  const versions = {} as Record<RuntimeId, string>;
  for (const id of RUNTIME_IDS) {
    const out = await chroot(['/bin/sh', '-c', `${VERSION_COMMANDS[id]} 2>&1`]);
    const v = /(\d+\.\d+(?:\.\d+)*)/.exec(out.replace(/^GNU bash, version /, ''))?.[1];
    if (!v) throw new Error(`${RUNTIMES[id].name} does not start in the image: \`${VERSION_COMMANDS[id]}\` said:\n${out.slice(0, 2000)}`);
    versions[id] = v;
  }
  return versions;
}
