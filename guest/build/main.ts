/**
 * Builds the guest image from Debian packages:
 * `node --import tsx guest/build/main.ts [--force]`. The read-only root image
 * and the kernel + initramfs are cached by input hash (image.ts); each is a
 * no-op when current. Needs apt-get, dpkg-deb, ldconfig, readelf, lz4, unshare
 * and the tool of the root image format (mkfs.erofs by default).
 * @module
 */
import { mkdir, rm, rename, writeFile, readFile, stat, mkdtemp, readdir } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUNTIME_IDS } from '@codecell/protocol';
import type { RuntimeId } from '@codecell/protocol';
import { extractDeb, fetchDebs, resolveKernelPackage } from './apt.js';
import { runBuildSteps } from './buildSteps.js';
import { progress, run } from './exec.js';
import { defaultCacheDir, guestImage, guestImageReady, rootfsReady } from './image.js';
import type { GuestImage, GuestManifest, ManifestRuntime, RootfsManifest } from './image.js';
import { buildInitramfs } from './initramfs.js';
import { extractVmlinux } from './kernel.js';
import { DROPPED_PACKAGES, RUNTIME_PACKAGES, rootPackages } from './packages.js';
import { resolvePackages, servedVersions } from './resolve.js';
import { packRootImage } from './rootImage.js';
import { copyRuntimeFiles, missingLibraries, stageRoot } from './rootfs.js';
import { lock, pruneOld } from './cacheDir.js';

const GUEST_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

async function build(force: boolean): Promise<void> {
  const cacheDir = defaultCacheDir();
  const image = guestImage(cacheDir);
  if (!force && guestImageReady(image)) {
    progress('up to date', image.dir);
    return;
  }
  await mkdir(cacheDir, { recursive: true });
  const release = await lock(cacheDir);
  try {
    if (!force && guestImageReady(image)) return progress('built meanwhile by another process', image.dir);
    for (const name of await readdir(cacheDir)) {
      if (name.startsWith('build-')) await rm(join(cacheDir, name), { recursive: true, force: true }); // from a build that died
    }
    if (force || !rootfsReady(image)) await buildRootfs(cacheDir, image);
    await buildGuest(cacheDir, image);
  } finally {
    await release();
  }
}

/** Files ELF binaries of every runtime live in; each must find its shared libraries in the image. */
const ELF_DIRS = ['usr/bin', 'bin', 'usr/lib/python3.11/lib-dynload', 'usr/lib/go-1.19/bin', 'usr/lib/jvm/java-17-openjdk-amd64/bin', 'usr/lib/jvm/java-17-openjdk-amd64/lib'];

async function buildRootfs(cacheDir: string, image: GuestImage): Promise<void> {
  const started = Date.now();
  const work = await mkdtemp(join(cacheDir, 'build-'));
  try {
    progress('resolving packages', `${rootPackages().length} asked for, with dependencies, against an empty dpkg status`);
    const { packages, substituted } = await resolvePackages({ roots: rootPackages(), drop: DROPPED_PACKAGES.map((d) => d.name) });
    const debs = await fetchDebs(join(cacheDir, 'debs'), packages);
    const tree = join(work, 'root');
    progress('unpacking', `${debs.size} packages`);
    await mkdir(tree);
    const queue = [...debs.values()];
    const worker = async (): Promise<void> => {
      for (let deb = queue.shift(); deb; deb = queue.shift()) await extractDeb(deb, tree);
    };
    await Promise.all([worker(), worker(), worker()]);
    progress('staging root');
    await stageRoot(tree);
    await copyRuntimeFiles(tree, join(GUEST_DIR, 'runtime'));
    const missing = await missingLibraries(tree, ELF_DIRS);
    if (missing.length > 0) throw new Error(`the guest is missing shared libraries:\n  ${missing.join('\n  ')}`);
    const versions = await runBuildSteps(tree);
    const versionOf = new Map(packages.map((p) => [p.name, p.version]));
    const runtimes = {} as Record<RuntimeId, ManifestRuntime>;
    for (const id of RUNTIME_IDS) {
      const pkg = RUNTIME_PACKAGES[id].versionOf;
      runtimes[id] = { version: versions[id], debianPackage: pkg, debianVersion: versionOf.get(pkg) ?? 'unknown' };
    }
    const treeBytes = Number((await run('du', ['-sb', tree])).toString('utf8').split(/\s/)[0]);
    progress('packing the root image', `${image.rootfsFormat}, ${(treeBytes / 1048576).toFixed(0)} MiB of files`);
    const out = join(work, 'out');
    await mkdir(out);
    const packStarted = Date.now();
    const imageBytes = await packRootImage({ tree, out: join(out, `root.${image.rootfsFormat}`), format: image.rootfsFormat });
    const packMs = Date.now() - packStarted;
    const manifest: RootfsManifest = {
      rootfsKey: image.rootfsKey,
      format: image.rootfsFormat,
      imageBytes,
      treeBytes,
      runtimes,
      packages: packages.map((p) => ({ name: p.name, version: p.version })),
      dropped: DROPPED_PACKAGES.map((d) => d.name),
      substituted,
      buildMs: Date.now() - started,
      packMs,
      builtAt: new Date().toISOString(),
    };
    await writeFile(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await rm(image.rootfsDir, { recursive: true, force: true });
    await rename(out, image.rootfsDir);
    await pruneOld(cacheDir, 'rootfs-', image.rootfsDir);
    progress('root image done', `${image.rootfs} (${(imageBytes / 1048576).toFixed(0)} MiB, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function buildGuest(cacheDir: string, image: GuestImage): Promise<void> {
  const started = Date.now();
  const work = await mkdtemp(join(cacheDir, 'build-'));
  try {
    const debDir = join(cacheDir, 'debs');
    const kernelPackage = await resolveKernelPackage(debDir);
    const busyboxVersion = (await servedVersions(['busybox-static'])).get('busybox-static')?.[0] ?? '';
    const kernelVersion = (await servedVersions([kernelPackage])).get(kernelPackage)?.[0] ?? '';
    const debs = await fetchDebs(debDir, [
      { name: kernelPackage, version: kernelVersion, arch: 'amd64' },
      { name: 'busybox-static', version: busyboxVersion, arch: 'amd64' },
    ]);
    const kernelRoot = join(work, 'kernel');
    const bbRoot = join(work, 'busybox');
    await extractDeb(debs.get(kernelPackage) ?? '', kernelRoot);
    await extractDeb(debs.get('busybox-static') ?? '', bbRoot);
    const kernelRelease = kernelPackage.replace(/^linux-image-/, '');
    const out = join(work, 'out');
    await mkdir(out);
    progress('extracting vmlinux', kernelRelease);
    await extractVmlinux(join(kernelRoot, 'boot', `vmlinuz-${kernelRelease}`), join(out, 'vmlinux'));
    progress('packing the initramfs', 'busybox, modules, init, agent');
    const modules = await buildInitramfs({
      dir: join(work, 'initramfs'),
      busybox: join(bbRoot, 'bin/busybox'),
      kernelRoot,
      kernelRelease,
      agentDir: join(GUEST_DIR, 'agent'),
      format: image.rootfsFormat,
      out: join(out, 'initramfs.cpio'),
    });
    const rootfs = JSON.parse(await readFile(join(image.rootfsDir, 'manifest.json'), 'utf8')) as RootfsManifest;
    const manifest: GuestManifest = {
      ...rootfs,
      key: image.key,
      kernelRelease,
      kernelPackage,
      modules,
      initramfsBytes: (await stat(join(out, 'initramfs.cpio'))).size,
      guestBuildMs: Date.now() - started,
    };
    await writeFile(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await rm(image.dir, { recursive: true, force: true });
    await rename(out, image.dir);
    await pruneOld(cacheDir, 'guest-', image.dir);
    const versions = RUNTIME_IDS.map((id) => `${id} ${rootfs.runtimes[id].version}`).join(', ');
    progress('done', `${image.dir} (kernel ${kernelRelease}, initramfs ${(manifest.initramfsBytes / 1048576).toFixed(1)} MiB; ${versions})`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

build(process.argv.includes('--force')).catch((err: unknown) => {
  process.stderr.write(`[guest-image] FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
