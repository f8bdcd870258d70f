/**
 * Stages the guest's root tree from unpacked Debian packages: prunes what a
 * sandbox never needs, makes the links maintainer scripts would have made,
 * adds busybox applets, users and mount points, precompiles Python, and runs
 * the build-time steps that need the tree's own programs (see chroot.ts).
 * @module
 */
import { mkdir, rm, writeFile, symlink, chmod, readdir, readFile, lstat, copyFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from './exec.js';
import { ALTERNATIVES } from './packages.js';

/** Unprivileged user that runs programs inside the VM. */
export const GUEST_USER = { name: 'user', uid: 1000, gid: 1000, home: '/workspace' } as const;

/** Where the image keeps CodeCell's own files (launchers, snapshots, cache seeds). */
export const CODECELL_LIB = 'usr/lib/codecell';

/** Parts of the packages that a headless sandbox never uses. */
const PRUNE = [
  'usr/share/doc',
  'usr/share/man',
  'usr/share/info',
  'usr/share/lintian',
  'usr/share/locale',
  'usr/share/bug',
  'usr/share/gdb',
  'usr/share/bash-completion',
  'usr/lib/python3.11/test',
  'usr/lib/python3.11/idlelib',
  'usr/lib/python3.11/tkinter',
  'usr/lib/python3.11/turtledemo',
  'usr/lib/python3.11/ensurepip',
  'usr/lib/python3.11/lib2to3/tests',
  'usr/lib/python3.11/config-3.11-x86_64-linux-gnu',
  // jlink's inputs; the runtime image (lib/modules) is what java and javac use.
  'usr/lib/jvm/java-17-openjdk-amd64/jmods',
  'usr/share/go-1.19/test',
  'usr/share/go-1.19/misc',
  'etc/init.d',
  'etc/cron.daily',
  'etc/logrotate.d',
  'boot',
  'lib/modules',
];

/** Directories named so inside these trees hold only a package's own tests. */
const TEST_DIR_ROOTS = ['usr/lib/python3/dist-packages', 'usr/share/go-1.19/src'];
const TEST_DIR_NAMES = new Set(['tests', 'testdata']);

/** Mount points and other directories the read-only root must already have. */
const DIRS = [
  'proc',
  'sys',
  'dev',
  'tmp',
  'workspace',
  'run',
  'agent',
  'var/tmp',
  // Mount points of the agent's writable cache overlays (guest/SPEC.md 5.3).
  'var/cache/codecell/matplotlib',
  'var/cache/codecell/go',
  'root',
  'etc',
  'bin',
  'sbin',
  'usr/bin',
  'usr/sbin',
  CODECELL_LIB,
];

async function pruneTestDirs(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const p = join(dir, e.name);
    if (TEST_DIR_NAMES.has(e.name)) await rm(p, { recursive: true, force: true });
    else await pruneTestDirs(p);
  }
}

async function link(root: string, path: string, target: string): Promise<void> {
  const dest = join(root, path);
  if (existsSync(dest)) return;
  await mkdir(dirname(dest), { recursive: true });
  await symlink(target, dest);
}

/** Prunes, then adds links, busybox applets, /etc files and mount points. */
export async function stageRoot(root: string): Promise<void> {
  for (const p of PRUNE) await rm(join(root, p), { recursive: true, force: true });
  for (const d of TEST_DIR_ROOTS) if (existsSync(join(root, d))) await pruneTestDirs(join(root, d));
  for (const d of DIRS) await mkdir(join(root, d), { recursive: true });
  await chmod(join(root, 'tmp'), 0o1777);
  await chmod(join(root, 'var/tmp'), 0o1777);
  await chmod(join(root, 'root'), 0o700);
  for (const [path, target] of ALTERNATIVES) await link(root, path, target);
  await linkBusybox(root);
  await link(root, 'usr/bin/python3', 'python3.11');
  await link(root, 'usr/bin/python', 'python3.11');
  const { name, uid, gid, home } = GUEST_USER;
  await writeFile(join(root, 'etc/passwd'), `root:x:0:0:root:/root:/bin/sh\n${name}:x:${uid}:${gid}:${name}:${home}:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n`);
  await writeFile(join(root, 'etc/group'), `root:x:0:\n${name}:x:${gid}:\nnogroup:x:65534:\n`);
  await writeFile(join(root, 'etc/hostname'), 'sandbox\n');
  await writeFile(join(root, 'etc/hosts'), '127.0.0.1 localhost sandbox\n::1 localhost\n');
  await writeFile(join(root, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files\n');
  await writeFile(join(root, 'etc/resolv.conf'), '# no network in the sandbox\n');
  await run('ldconfig', ['-r', root]);
}

async function linkBusybox(root: string): Promise<void> {
  const busybox = join(root, 'bin/busybox');
  const list = (await run(busybox, ['--list-full'])).toString('utf8').split('\n').filter(Boolean);
  for (const applet of list) {
    const dest = join(root, applet);
    if (existsSync(dest)) continue; // a real binary from a package wins
    const depth = applet.split('/').length - 1;
    await mkdir(dirname(dest), { recursive: true });
    await symlink(`${'../'.repeat(depth)}bin/busybox`, dest);
  }
}

/** Copies the files of `guest/runtime` (launchers, snapshot scripts) into the image. */
export async function copyRuntimeFiles(root: string, runtimeDir: string): Promise<void> {
  for (const f of await readdir(runtimeDir)) {
    if (f.endsWith('.test.ts')) continue;
    await copyFile(join(runtimeDir, f), join(root, CODECELL_LIB, f));
  }
}

/** Lists shared libraries that staged ELF files need but the tree does not have. */
export async function missingLibraries(root: string, elfDirs: readonly string[]): Promise<string[]> {
  const have = new Set<string>();
  const libDirs = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib64', 'usr/lib', 'lib', 'usr/lib/jvm/java-17-openjdk-amd64/lib', 'usr/lib/jvm/java-17-openjdk-amd64/lib/server'];
  for (const d of libDirs) {
    if (existsSync(join(root, d))) for (const f of await readdir(join(root, d))) have.add(f);
  }
  const elfs: string[] = [];
  for (const d of elfDirs) {
    if (!existsSync(join(root, d))) continue;
    for (const f of await readdir(join(root, d))) elfs.push(join(root, d, f));
  }
  const missing = new Set<string>();
  for (const elf of elfs) {
    const st = await lstat(elf);
    if (!st.isFile() || st.size < 4) continue;
    const head = await readFile(elf);
    if (head.readUInt32BE(0) !== 0x7f454c46) continue;
    const dyn = (await run('readelf', ['-d', elf], { ignoreExitCode: true })).toString('utf8');
    for (const m of dyn.matchAll(/\(NEEDED\)\s+Shared library: \[(.+?)\]/g)) {
      if (m[1] && !have.has(m[1])) missing.add(`${m[1]} (needed by ${elf.slice(root.length)})`);
    }
  }
  return [...missing].sort();
}
