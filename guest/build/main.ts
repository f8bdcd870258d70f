/**
 * Builds the guest image (kernel + initramfs) from Debian packages:
 * `node --import tsx guest/build/main.ts [--force]`. Cached by input hash;
 * a no-op when current. Needs apt-get, dpkg-deb, ldconfig, readelf and lz4.
 * @module
 */
import { mkdir, rm, rename, writeFile, readFile, stat, mkdtemp, readdir } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchPackages, extractDeb } from './apt.js';
import { extractVmlinux, collectModules } from './kernel.js';
import { stageRoot, compileStdlib, missingLibraries } from './rootfs.js';
import { writeCpio } from './cpio.js';
import { run, progress } from './exec.js';
import { defaultCacheDir, guestImage, guestImageReady } from './image.js';
import type { GuestImage, GuestManifest } from './image.js';

const AGENT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'agent');

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
    await buildLocked(cacheDir, image);
  } finally {
    await release();
  }
}

/** Serialises builds (two `npm test`s, or a test and `npm start`) with a lock directory. */
async function lock(cacheDir: string): Promise<() => Promise<void>> {
  const dir = join(cacheDir, '.build-lock');
  for (let waited = 0; ; waited += 500) {
    try {
      await mkdir(dir);
      await writeFile(join(dir, 'pid'), String(process.pid));
      return () => rm(dir, { recursive: true, force: true });
    } catch {
      const owner = Number(await readFile(join(dir, 'pid'), 'utf8').catch(() => '0'));
      if (!owner || !alive(owner)) {
        await rm(dir, { recursive: true, force: true }); // left by a build that died
        continue;
      }
      if (waited % 10_000 === 0) progress('waiting for another build to finish', `pid ${owner}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function buildLocked(cacheDir: string, image: GuestImage): Promise<void> {
  const started = Date.now();
  for (const name of await readdir(cacheDir)) {
    if (name.startsWith('build-')) await rm(join(cacheDir, name), { recursive: true, force: true }); // from a build that died
  }
  const work = await mkdtemp(join(cacheDir, 'build-'));
  try {
    const { debs, kernelPackage } = await fetchPackages(join(cacheDir, 'debs'));
    progress('unpacking', `${debs.length} packages`);
    const root = join(work, 'root');
    const kernelRoot = join(work, 'kernel');
    for (const deb of debs) {
      await extractDeb(deb, deb.includes('/linux-image-') ? kernelRoot : root);
    }
    const kernelRelease = kernelPackage.replace(/^linux-image-/, '');
    const out = join(work, 'out');
    await mkdir(out);
    progress('extracting vmlinux', kernelRelease);
    await extractVmlinux(join(kernelRoot, 'boot', `vmlinuz-${kernelRelease}`), join(out, 'vmlinux'));
    progress('staging root', 'busybox, python3.11, agent');
    await stageRoot({ root, agentDir: AGENT_DIR });
    await collectModules(kernelRoot, kernelRelease, join(root, 'lib/modules/guest'));
    const missing = await missingLibraries(root);
    if (missing.length > 0) throw new Error(`the guest is missing shared libraries:\n  ${missing.join('\n  ')}`);
    progress('precompiling the stdlib');
    await compileStdlib(root);
    const python = (await run(join(root, 'usr/bin/python3.11'), ['-E', '-c', 'import sys; print(sys.version.split()[0])'], {
      env: { LD_LIBRARY_PATH: join(root, 'lib/x86_64-linux-gnu'), PYTHONHOME: join(root, 'usr') },
    })).toString('utf8').trim();
    progress('packing initramfs');
    await writeCpio(root, join(out, 'initramfs.cpio'));
    const manifest: GuestManifest = {
      key: image.key,
      kernelRelease,
      kernelPackage,
      python,
      debs: debs.map((d) => d.split('/').pop() ?? d),
      initramfsBytes: (await stat(join(out, 'initramfs.cpio'))).size,
      builtAt: new Date().toISOString(),
    };
    await writeFile(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await rm(image.dir, { recursive: true, force: true });
    await rename(out, image.dir);
    await pruneOldImages(cacheDir, image.dir);
    const mb = (manifest.initramfsBytes / 1048576).toFixed(1);
    progress('done', `${image.dir} (python ${python}, kernel ${kernelRelease}, initramfs ${mb} MiB, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Keeps the cache from growing without bound: the current image and the one
 * before it stay (a sandbox started before this build may still boot from it).
 */
async function pruneOldImages(cacheDir: string, keep: string): Promise<void> {
  const old: { path: string; mtime: number }[] = [];
  for (const name of await readdir(cacheDir)) {
    const p = join(cacheDir, name);
    if (name.startsWith('guest-') && p !== keep) old.push({ path: p, mtime: (await stat(p)).mtimeMs });
  }
  old.sort((a, b) => b.mtime - a.mtime);
  for (const { path } of old.slice(1)) await rm(path, { recursive: true, force: true });
}

build(process.argv.includes('--force')).catch((err: unknown) => {
  process.stderr.write(`[guest-image] FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
