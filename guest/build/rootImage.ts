/**
 * Packs the staged root tree into the read-only root image every VM boots
 * from on virtio-blk, without root: `mkfs.erofs`, `mksquashfs` or
 * `mkfs.ext4 -d` (the choice and its measurements: guest/SPEC.md 5.2).
 * @module
 */
import { stat } from 'node:fs/promises';
import { run } from './exec.js';

export const ROOTFS_FORMATS = ['erofs', 'squashfs', 'ext4'] as const;
export type RootfsFormat = (typeof ROOTFS_FORMATS)[number];

/** Chosen by measurement (BENCHMARKS.md, "Root image format"); `CODECELL_ROOTFS_FORMAT` overrides it. */
export const DEFAULT_ROOTFS_FORMAT: RootfsFormat = 'erofs';

/** The host command that makes each format, and the Debian package that has it. */
export const ROOTFS_TOOLS: Readonly<Record<RootfsFormat, { readonly cmd: string; readonly pkg: string }>> = {
  erofs: { cmd: 'mkfs.erofs', pkg: 'erofs-utils' },
  squashfs: { cmd: 'mksquashfs', pkg: 'squashfs-tools' },
  ext4: { cmd: 'mkfs.ext4', pkg: 'e2fsprogs' },
};

/** The format to build: `$CODECELL_ROOTFS_FORMAT` when set, else {@link DEFAULT_ROOTFS_FORMAT}. */
export function rootfsFormat(env: NodeJS.ProcessEnv = process.env): RootfsFormat {
  const f = env['CODECELL_ROOTFS_FORMAT'] ?? DEFAULT_ROOTFS_FORMAT;
  if (!(ROOTFS_FORMATS as readonly string[]).includes(f)) throw new Error(`CODECELL_ROOTFS_FORMAT=${f}; use one of ${ROOTFS_FORMATS.join(', ')}`);
  return f as RootfsFormat;
}

async function treeBytes(dir: string): Promise<number> {
  const out = (await run('du', ['-sb', dir])).toString('utf8');
  return Number(out.split(/\s/)[0]);
}

/** Packs `tree` into `out` as `format`; every file root-owned, fixed times. */
export async function packRootImage(o: { tree: string; out: string; format: RootfsFormat }): Promise<number> {
  switch (o.format) {
    case 'erofs':
      // LZ4: the kernel decompresses it in a few cycles per byte, and the image is half the tree's size.
      // Plain lz4, not lz4hc: packing took 25 s instead of 103 s for an image only 12% larger (934 vs 835 MiB).
      await run('mkfs.erofs', ['-zlz4', '--all-root', '-T0', '--quiet', o.out, o.tree]);
      break;
    case 'squashfs':
      await run('mksquashfs', [o.tree, o.out, '-comp', 'lz4', '-Xhc', '-all-root', '-noappend', '-no-progress', '-quiet', '-mkfs-time', '0', '-all-time', '0']);
      break;
    case 'ext4': {
      // Sized to the tree plus room for metadata; read-only, so no reserved blocks and no journal.
      const mb = Math.ceil(((await treeBytes(o.tree)) * 1.15) / 1048576) + 64;
      await run('mkfs.ext4', ['-q', '-F', '-d', o.tree, '-m', '0', '-O', '^has_journal', '-E', 'root_owner=0:0', '-U', 'clear', o.out, `${mb}M`]);
      break;
    }
  }
  return (await stat(o.out)).size;
}
