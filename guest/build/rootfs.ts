/**
 * Stages the guest's root tree from unpacked Debian packages: prunes what a
 * sandbox never needs, adds busybox applets, users, init and the agent, and
 * precompiles the stdlib with the staged interpreter.
 * @module
 */
import { mkdir, rm, writeFile, copyFile, symlink, chmod, readdir, readFile, lstat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './exec.js';

/** Unprivileged user that runs programs inside the VM. */
export const GUEST_USER = { name: 'user', uid: 1000, gid: 1000, home: '/workspace' } as const;

/** Parts of the packages that a headless sandbox never uses. */
const PRUNE = [
  'usr/share/doc',
  'usr/share/man',
  'usr/share/info',
  'usr/share/lintian',
  'usr/share/locale',
  'usr/share/bug',
  'usr/share/gdb',
  'usr/lib/python3.11/test',
  'usr/lib/python3.11/idlelib',
  'usr/lib/python3.11/tkinter',
  'usr/lib/python3.11/turtledemo',
  'usr/lib/python3.11/ensurepip',
  'usr/lib/python3.11/lib2to3/tests',
  'usr/lib/python3.11/config-3.11-x86_64-linux-gnu',
  'etc/init.d',
  'etc/cron.daily',
  'etc/logrotate.d',
  'boot',
  'lib/modules',
];

const DIRS = ['proc', 'sys', 'dev', 'tmp', 'workspace', 'run', 'var/tmp', 'root', 'etc', 'bin', 'sbin', 'usr/bin', 'usr/sbin'];

/** Prunes, then adds busybox applets, /etc files, init and the agent. */
export async function stageRoot(opts: { root: string; agentDir: string }): Promise<void> {
  const { root } = opts;
  for (const p of PRUNE) await rm(join(root, p), { recursive: true, force: true });
  for (const d of DIRS) await mkdir(join(root, d), { recursive: true });
  await chmod(join(root, 'tmp'), 0o1777);
  await chmod(join(root, 'var/tmp'), 0o1777);
  await chmod(join(root, 'root'), 0o700);
  await linkBusybox(root);
  if (!existsSync(join(root, 'usr/bin/python3'))) await symlink('python3.11', join(root, 'usr/bin/python3'));
  if (!existsSync(join(root, 'usr/bin/python'))) await symlink('python3.11', join(root, 'usr/bin/python'));
  const { name, uid, gid, home } = GUEST_USER;
  await writeFile(join(root, 'etc/passwd'), `root:x:0:0:root:/root:/bin/sh\n${name}:x:${uid}:${gid}:${name}:${home}:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n`);
  await writeFile(join(root, 'etc/group'), `root:x:0:\n${name}:x:${gid}:\nnogroup:x:65534:\n`);
  await writeFile(join(root, 'etc/hostname'), 'sandbox\n');
  await writeFile(join(root, 'etc/hosts'), '127.0.0.1 localhost sandbox\n::1 localhost\n');
  await writeFile(join(root, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files\n');
  await writeFile(join(root, 'etc/resolv.conf'), '# no network in the sandbox\n');
  await mkdir(join(root, 'agent'), { recursive: true });
  for (const f of await readdir(opts.agentDir)) {
    if (f.endsWith('.py')) await copyFile(join(opts.agentDir, f), join(root, 'agent', f));
  }
  await copyFile(join(opts.agentDir, 'init'), join(root, 'init'));
  await chmod(join(root, 'init'), 0o755);
  await run('ldconfig', ['-r', root]);
}

async function linkBusybox(root: string): Promise<void> {
  const busybox = join(root, 'bin/busybox');
  const list = (await run(busybox, ['--list-full'])).toString('utf8').split('\n').filter(Boolean);
  for (const applet of list) {
    const dest = join(root, applet);
    if (existsSync(dest)) continue; // a real binary from a package wins
    const depth = applet.split('/').length - 1;
    await mkdir(join(dest, '..'), { recursive: true });
    await symlink(`${'../'.repeat(depth)}bin/busybox`, dest);
  }
}

/** Compiles the stdlib to unchecked-hash pycs with the staged interpreter, so the guest never writes them. */
export async function compileStdlib(root: string): Promise<void> {
  const python = join(root, 'usr/bin/python3.11');
  const libDir = join(root, 'lib/x86_64-linux-gnu');
  await run(
    python,
    ['-E', '-m', 'compileall', '-q', '-j', '0', '--invalidation-mode', 'unchecked-hash', '-d', '/usr/lib/python3.11', join(root, 'usr/lib/python3.11')],
    { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LD_LIBRARY_PATH: `${libDir}:${join(root, 'usr/lib/x86_64-linux-gnu')}`, PYTHONHOME: join(root, 'usr') } },
  );
}

/** Lists shared libraries that staged ELF files need but the tree does not have. */
export async function missingLibraries(root: string): Promise<string[]> {
  const have = new Set<string>();
  const libDirs = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib64'];
  for (const d of libDirs) {
    if (existsSync(join(root, d))) for (const f of await readdir(join(root, d))) have.add(f);
  }
  const elfs = [join(root, 'usr/bin/python3.11')];
  const dynload = join(root, 'usr/lib/python3.11/lib-dynload');
  for (const f of await readdir(dynload)) if (f.endsWith('.so')) elfs.push(join(dynload, f));
  const missing = new Set<string>();
  for (const elf of elfs) {
    if (!(await lstat(elf)).isFile()) continue;
    const head = await readFile(elf);
    if (head.readUInt32BE(0) !== 0x7f454c46) continue;
    const dyn = (await run('readelf', ['-d', elf])).toString('utf8');
    for (const m of dyn.matchAll(/\(NEEDED\)\s+Shared library: \[(.+?)\]/g)) {
      if (m[1] && !have.has(m[1])) missing.add(`${m[1]} (needed by ${elf.slice(root.length)})`);
    }
  }
  return [...missing].sort();
}
