/**
 * Where the guest image lives and whether it is current. The image is cached
 * outside git under `<cacheDir>/guest-<key>/`, where `key` hashes every input
 * of the build (agent sources, build scripts, package list).
 * @module
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const GUEST_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const INPUT_DIRS = ['agent', 'build'];

/** Paths of one built guest image. */
export interface GuestImage {
  readonly dir: string;
  /** Uncompressed ELF kernel (PVH for QEMU, required by Firecracker). */
  readonly kernel: string;
  /** Uncompressed newc initramfs with python3 and the agent. */
  readonly initramfs: string;
  readonly manifest: string;
  readonly key: string;
}

/** Facts recorded by the build. */
export interface GuestManifest {
  readonly key: string;
  readonly kernelRelease: string;
  readonly kernelPackage: string;
  readonly python: string;
  readonly debs: readonly string[];
  readonly initramfsBytes: number;
  readonly builtAt: string;
}

/** `$CODECELL_CACHE_DIR`, else `~/.cache/codecell`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['CODECELL_CACHE_DIR'] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'codecell');
}

/** Hash of every build input; changes whenever the image must be rebuilt. */
export function guestInputKey(): string {
  const hash = createHash('sha256');
  for (const dir of INPUT_DIRS) {
    const abs = join(GUEST_DIR, dir);
    for (const name of readdirSync(abs).sort()) {
      if (name.endsWith('.test.ts') || name === '__pycache__') continue;
      hash.update(`${dir}/${name}\0`);
      hash.update(readFileSync(join(abs, name)));
    }
  }
  return hash.digest('hex').slice(0, 16);
}

/** The image paths for the current inputs (built or not). */
export function guestImage(cacheDir = defaultCacheDir()): GuestImage {
  const key = guestInputKey();
  const dir = join(cacheDir, `guest-${key}`);
  return {
    dir,
    key,
    kernel: join(dir, 'vmlinux'),
    initramfs: join(dir, 'initramfs.cpio'),
    manifest: join(dir, 'manifest.json'),
  };
}

/** True when the image for the current inputs has been built completely. */
export function guestImageReady(image: GuestImage): boolean {
  return existsSync(image.manifest) && existsSync(image.kernel) && existsSync(image.initramfs);
}

/** Reads the manifest of a built image. */
export function readManifest(image: GuestImage): GuestManifest {
  return JSON.parse(readFileSync(image.manifest, 'utf8')) as GuestManifest;
}
