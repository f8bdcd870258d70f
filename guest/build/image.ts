/**
 * Where the guest image lives and whether it is current. Two parts, cached
 * outside git, each under a key that hashes its inputs:
 * `<cacheDir>/rootfs-<rootfsKey>/` holds the read-only root image (packages,
 * runtimes; slow to build, rarely changes) and `<cacheDir>/guest-<key>/` the
 * kernel and initramfs (agent, init; quick to build) plus the manifest the
 * sandbox reads. The guest key includes the root image's key.
 * @module
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUNTIMES } from '@codecell/protocol';
import type { RuntimeId } from '@codecell/protocol';
import { rootfsFormat } from './rootImage.js';
import type { RootfsFormat } from './rootImage.js';
import type { SubstitutedVersion } from './resolve.js';

const GUEST_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const REPO_DIR = join(GUEST_DIR, '..');

/** Inputs of the root image: package sets, the build steps that shape it, and the runtime files in it. */
const ROOTFS_INPUTS = [
  'guest/build/packages.ts',
  'guest/build/resolve.ts',
  'guest/build/apt.ts',
  'guest/build/exec.ts',
  'guest/build/rootfs.ts',
  'guest/build/chroot.ts',
  'guest/build/buildSteps.ts',
  'guest/build/rootImage.ts',
  'guest/runtime',
];
/** Inputs of the kernel + initramfs. */
const GUEST_INPUTS = ['guest/agent', 'guest/build/initramfs.ts', 'guest/build/kernel.ts', 'guest/build/cpio.ts', 'guest/build/main.ts', 'guest/build/image.ts'];

/** Paths of one built guest image. */
export interface GuestImage {
  readonly dir: string;
  /** Uncompressed ELF kernel (PVH for QEMU, required by Firecracker). */
  readonly kernel: string;
  /** The small stage-1 initramfs (busybox, modules, init, agent). */
  readonly initramfs: string;
  /** The read-only root image, attached as the VM's first virtio-blk disk. */
  readonly rootfs: string;
  readonly rootfsFormat: RootfsFormat;
  readonly rootfsDir: string;
  readonly manifest: string;
  readonly key: string;
  readonly rootfsKey: string;
}

/** One runtime as built into the image. */
export interface ManifestRuntime {
  /** As the runtime reports it (`python3 --version`…). */
  readonly version: string;
  /** The Debian package its version comes from, at the version installed. */
  readonly debianPackage: string;
  readonly debianVersion: string;
}

/** Facts recorded by the root image build. */
export interface RootfsManifest {
  readonly rootfsKey: string;
  readonly format: RootfsFormat;
  readonly imageBytes: number;
  readonly treeBytes: number;
  readonly runtimes: Readonly<Record<RuntimeId, ManifestRuntime>>;
  /** Every package in the image at the exact version apt resolved. */
  readonly packages: readonly { readonly name: string; readonly version: string }[];
  readonly dropped: readonly string[];
  /** apt candidates no configured source serves, and the versions used instead (e.g. nodejs). */
  readonly substituted: readonly SubstitutedVersion[];
  readonly buildMs: number;
  /** Of `buildMs`, the time spent packing the tree into the image. */
  readonly packMs: number;
  readonly builtAt: string;
}

/** Facts recorded by the guest build (the sandbox reads these). */
export interface GuestManifest extends RootfsManifest {
  readonly key: string;
  readonly kernelRelease: string;
  readonly kernelPackage: string;
  readonly modules: readonly string[];
  readonly initramfsBytes: number;
  readonly guestBuildMs: number;
}

/** `$CODECELL_CACHE_DIR`, else `~/.cache/codecell`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['CODECELL_CACHE_DIR'] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'codecell');
}

function hashInputs(hash: ReturnType<typeof createHash>, rel: string): void {
  const abs = join(REPO_DIR, rel);
  let names: string[];
  try {
    names = readdirSync(abs).sort();
  } catch {
    hash.update(`${rel}\0`);
    hash.update(readFileSync(abs));
    return;
  }
  for (const name of names) {
    if (name.endsWith('.test.ts') || name === '__pycache__') continue;
    hashInputs(hash, `${rel}/${name}`);
  }
}

function keyOf(inputs: readonly string[], extra: string): string {
  const hash = createHash('sha256');
  hash.update(extra);
  for (const rel of inputs) hashInputs(hash, rel);
  return hash.digest('hex').slice(0, 16);
}

/** Hash of every input of the root image (and its format). */
export function rootfsInputKey(format: RootfsFormat = rootfsFormat()): string {
  // Of the runtime table only the Go compile environment shapes the image (the Go build cache seeded in it).
  return keyOf(ROOTFS_INPUTS, `format=${format}\0go=${JSON.stringify(RUNTIMES.go.compile?.env ?? {})}\0`);
}

/** Hash of every build input; changes whenever the image must be rebuilt. */
export function guestInputKey(format: RootfsFormat = rootfsFormat()): string {
  return keyOf(GUEST_INPUTS, `rootfs=${rootfsInputKey(format)}\0`);
}

/** The image paths for the current inputs (built or not). */
export function guestImage(cacheDir = defaultCacheDir(), format: RootfsFormat = rootfsFormat()): GuestImage {
  const key = guestInputKey(format);
  const rootfsKey = rootfsInputKey(format);
  const dir = join(cacheDir, `guest-${key}`);
  const rootfsDir = join(cacheDir, `rootfs-${rootfsKey}`);
  return {
    dir,
    key,
    rootfsKey,
    rootfsFormat: format,
    rootfsDir,
    kernel: join(dir, 'vmlinux'),
    initramfs: join(dir, 'initramfs.cpio'),
    rootfs: join(rootfsDir, `root.${format}`),
    manifest: join(dir, 'manifest.json'),
  };
}

/** True when the root image for the current inputs has been built completely. */
export function rootfsReady(image: GuestImage): boolean {
  return existsSync(join(image.rootfsDir, 'manifest.json')) && existsSync(image.rootfs);
}

/** True when the image for the current inputs has been built completely. */
export function guestImageReady(image: GuestImage): boolean {
  return rootfsReady(image) && existsSync(image.manifest) && existsSync(image.kernel) && existsSync(image.initramfs);
}

/** Reads the manifest of a built image. */
export function readManifest(image: GuestImage): GuestManifest {
  return JSON.parse(readFileSync(image.manifest, 'utf8')) as GuestManifest;
}
