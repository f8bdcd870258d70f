/**
 * Fetches the guest's Debian packages with `apt-get download` (no root tree is
 * touched, no network other than Debian's mirrors) and unpacks them with `dpkg -x`.
 * @module
 */
import { readdir, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run, progress } from './exec.js';

/** The kernel metapackage; its Depends names the versioned image. */
export const KERNEL_METAPACKAGE = 'linux-image-cloud-amd64';

/** Userland packages: Debian's python3.11 with the libraries its stdlib modules link to. */
export const USERLAND_PACKAGES = [
  'busybox-static',
  'libc6',
  'libgcc-s1',
  'python3.11-minimal',
  'libpython3.11-minimal',
  'libpython3.11-stdlib',
  'zlib1g',
  'libexpat1',
  'libssl3',
  'libbz2-1.0',
  'libcrypt1',
  'libffi8',
  'liblzma5',
  'libncursesw6',
  'libtinfo6',
  'libreadline8',
  'libsqlite3-0',
  'libuuid1',
  'libnsl2',
  'libtirpc3',
  'libgssapi-krb5-2',
  'libkrb5-3',
  'libkrb5support0',
  'libk5crypto3',
  'libcom-err2',
  'libkeyutils1',
  'libdb5.3',
  'libgdbm6',
  'libgdbm-compat4',
  'media-types',
  'tzdata',
] as const;

async function download(debDir: string, names: readonly string[]): Promise<void> {
  try {
    await run('apt-get', ['download', '-q', ...names], { cwd: debDir });
  } catch (err) {
    // A fresh machine has no package lists yet: update once and try again.
    progress('apt-get update', String(err instanceof Error ? err.message.split('\n')[0] : err));
    await run('apt-get', ['update', '-q']);
    await run('apt-get', ['download', '-q', ...names], { cwd: debDir });
  }
}

async function debFor(debDir: string, name: string): Promise<string> {
  const files = await readdir(debDir);
  const prefix = `${name}_`;
  const match = files.filter((f) => f.startsWith(prefix) && f.endsWith('.deb')).sort().pop();
  if (!match) throw new Error(`apt-get download did not produce a .deb for ${name} in ${debDir}`);
  return join(debDir, match);
}

/** Resolves the versioned kernel package (e.g. linux-image-6.1.0-56-cloud-amd64). */
async function resolveKernelPackage(debDir: string): Promise<string> {
  await download(debDir, [KERNEL_METAPACKAGE]);
  const meta = await debFor(debDir, KERNEL_METAPACKAGE);
  const depends = (await run('dpkg-deb', ['-f', meta, 'Depends'])).toString('utf8');
  const name = depends.split(/[,|]/)[0]?.trim().split(/\s/)[0];
  if (!name?.startsWith('linux-image-')) {
    throw new Error(`unexpected Depends of ${KERNEL_METAPACKAGE}: ${depends}`);
  }
  return name;
}

export interface FetchedPackages {
  /** Paths of every .deb used, sorted. */
  readonly debs: readonly string[];
  readonly kernelPackage: string;
}

/** Downloads every package the guest needs into `debDir`. */
export async function fetchPackages(debDir: string): Promise<FetchedPackages> {
  await mkdir(debDir, { recursive: true });
  progress('downloading Debian packages', `${USERLAND_PACKAGES.length + 2} packages`);
  const kernelPackage = await resolveKernelPackage(debDir);
  await download(debDir, [kernelPackage, ...USERLAND_PACKAGES]);
  const debs = await Promise.all([kernelPackage, ...USERLAND_PACKAGES].map((n) => debFor(debDir, n)));
  return { debs: debs.sort(), kernelPackage };
}

/** Unpacks one .deb into `dest` (no maintainer scripts run). */
export async function extractDeb(deb: string, dest: string): Promise<void> {
  await run('dpkg-deb', ['-x', deb, dest]);
}
