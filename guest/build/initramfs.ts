/**
 * The small stage-1 initramfs: busybox, the kernel modules the guest needs
 * (with their dependencies), `/init`, and the agent, which init copies onto
 * the root image's `/agent` tmpfs before handing PID 1 to it.
 * @module
 */
import { chmod, copyFile, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeCpio } from './cpio.js';
import { run } from './exec.js';
import { GUEST_MODULES, ROOTFS_MODULES, collectModules } from './kernel.js';
import type { RootfsFormat } from './rootImage.js';

export interface InitramfsOptions {
  /** Staging directory (created). */
  readonly dir: string;
  readonly busybox: string;
  readonly kernelRoot: string;
  readonly kernelRelease: string;
  readonly agentDir: string;
  readonly format: RootfsFormat;
  readonly out: string;
}

/** Builds the initramfs; resolves with the modules it loads, in order. */
export async function buildInitramfs(o: InitramfsOptions): Promise<string[]> {
  for (const d of ['bin', 'lib/modules', 'etc', 'agent', 'proc', 'sys', 'dev', 'root']) await mkdir(join(o.dir, d), { recursive: true });
  await copyFile(o.busybox, join(o.dir, 'bin/busybox'));
  await chmod(join(o.dir, 'bin/busybox'), 0o755);
  const applets = (await run(o.busybox, ['--list'])).toString('utf8').split('\n').filter(Boolean);
  for (const a of applets) if (!existsSync(join(o.dir, 'bin', a))) await symlink('busybox', join(o.dir, 'bin', a));
  const modules = await collectModules({
    kernelRoot: o.kernelRoot,
    kernelRelease: o.kernelRelease,
    destDir: join(o.dir, 'lib/modules'),
    names: [...GUEST_MODULES, ...ROOTFS_MODULES[o.format]],
  });
  await writeFile(join(o.dir, 'etc/rootfs-type'), `${o.format}\n`);
  for (const f of await readdir(o.agentDir)) {
    if (f.endsWith('.py')) await copyFile(join(o.agentDir, f), join(o.dir, 'agent', f));
  }
  await copyFile(join(o.agentDir, 'init'), join(o.dir, 'init'));
  await chmod(join(o.dir, 'init'), 0o755);
  await mkdir(dirname(o.out), { recursive: true });
  await writeCpio(o.dir, o.out);
  return modules;
}
