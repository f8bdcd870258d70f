/**
 * Turns Debian's compressed bzImage into the uncompressed ELF `vmlinux` that
 * QEMU (PVH entry) boots faster and Firecracker requires, the way the kernel's
 * `scripts/extract-vmlinux` does; and collects the virtio/vsock modules.
 * @module
 */
import { readFile, writeFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.js';

interface Codec {
  readonly magic: Buffer;
  readonly cmd: string;
  readonly args: readonly string[];
}

/** Compressors Debian has used for its kernels, with the tool that undoes each. */
const CODECS: readonly Codec[] = [
  { magic: Buffer.from([0x02, 0x21, 0x4c, 0x18]), cmd: 'lz4', args: ['-dc'] },
  { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), cmd: 'xz', args: ['-dc'] },
  { magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), cmd: 'zstd', args: ['-dc'] },
  { magic: Buffer.from([0x1f, 0x8b, 0x08]), cmd: 'gzip', args: ['-dc'] },
];

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/** Finds the compressed payload in a bzImage and decompresses it to an ELF. */
export async function extractVmlinux(bzImage: string, out: string): Promise<void> {
  const image = await readFile(bzImage);
  for (const codec of CODECS) {
    let at = image.indexOf(codec.magic);
    while (at >= 0) {
      // Trailing bytes after the stream make some tools exit non-zero after
      // writing the whole kernel; a wrong offset gives no ELF at all.
      const elf = await run(codec.cmd, codec.args, { input: image.subarray(at), ignoreExitCode: true });
      if (elf.subarray(0, 4).equals(ELF_MAGIC)) {
        await writeFile(out, elf);
        return;
      }
      at = image.indexOf(codec.magic, at + 1);
    }
  }
  throw new Error(`no ELF kernel found inside ${bzImage} (tried lz4, xz, zstd, gzip)`);
}

/** Modules the guest loads at boot (their dependencies are added, in load order). Missing ones are skipped by init. */
export const GUEST_MODULES = [
  'virtio_ring',
  'virtio',
  'virtio_mmio',
  'virtio_blk',
  'virtio_console',
  'virtio-rng',
  'virtio_balloon',
  'vsock',
  'vmw_vsock_virtio_transport_common',
  'vmw_vsock_virtio_transport',
  'overlay',
] as const;

/** The module of each root image format (ext4 is built into Debian's cloud kernel). */
export const ROOTFS_MODULES = { erofs: ['erofs'], squashfs: ['squashfs'], ext4: [] } as const;

/** The `depends=` entry of a module's .modinfo section. */
function moduleDepends(ko: Buffer): string[] {
  const at = ko.indexOf('depends=');
  if (at < 0) return [];
  const end = ko.indexOf(0, at);
  const list = ko.subarray(at + 'depends='.length, end).toString('utf8');
  return list ? list.split(',') : [];
}

/**
 * Copies `names` and every module they depend on (flat `<name>.ko`) from an
 * unpacked kernel package into `destDir`, and writes `order` listing them in
 * load order (dependencies first) for init.
 */
export async function collectModules(o: { kernelRoot: string; kernelRelease: string; destDir: string; names: readonly string[] }): Promise<string[]> {
  const modRoot = join(o.kernelRoot, 'lib/modules', o.kernelRelease);
  // modules.dep is made by depmod at install time, so the .deb lacks it: scan the tree.
  const paths = new Map<string, string>();
  const entries = await readdir(join(modRoot, 'kernel'), { recursive: true });
  for (const rel of entries) {
    const m = /([^/]+)\.ko(\.\w+)?$/.exec(rel);
    if (m?.[1]) paths.set(m[1].replace(/-/g, '_'), join('kernel', rel));
  }
  const builtin = await readFile(join(modRoot, 'modules.builtin'), 'utf8');
  await mkdir(o.destDir, { recursive: true });
  const order: string[] = [];
  const visit = async (name: string): Promise<void> => {
    const rel = paths.get(name.replace(/-/g, '_'));
    if (order.includes(name)) return;
    if (!rel) {
      if (builtin.includes(`/${name}.ko`) || builtin.includes(`/${name.replace(/_/g, '-')}.ko`) || builtin.includes(`/${name.replace(/-/g, '_')}.ko`)) return;
      throw new Error(`kernel ${o.kernelRelease} has module ${name} neither built in nor as a .ko`);
    }
    if (rel.endsWith('.xz') || rel.endsWith('.zst')) throw new Error(`module ${rel} is compressed; busybox insmod needs plain .ko files`);
    const ko = await readFile(join(modRoot, rel));
    for (const dep of moduleDepends(ko)) await visit(dep);
    if (order.includes(name)) return;
    await writeFile(join(o.destDir, `${name}.ko`), ko);
    order.push(name);
  };
  for (const name of o.names) await visit(name);
  await writeFile(join(o.destDir, 'order'), `${order.join('\n')}\n`);
  return order;
}
