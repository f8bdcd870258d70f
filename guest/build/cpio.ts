/**
 * A minimal, reproducible writer for the `newc` cpio format the kernel unpacks
 * as its initramfs. Entries are written in sorted order with fixed owners and times.
 * @module
 */
import { lstat, readdir, readFile, readlink, open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

const TRAILER = 'TRAILER!!!';

function header(fields: { ino: number; mode: number; nlink: number; size: number; nameSize: number }): string {
  const hex = (n: number): string => n.toString(16).padStart(8, '0');
  return (
    '070701' +
    hex(fields.ino) +
    hex(fields.mode) +
    hex(0) + // uid: everything in the image is root's
    hex(0) + // gid
    hex(fields.nlink) +
    hex(0) + // mtime: fixed for reproducible images
    hex(fields.size) +
    hex(0) + hex(0) + hex(0) + hex(0) + // dev major/minor, rdev major/minor
    hex(fields.nameSize) +
    hex(0) // check
  );
}

const pad4 = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);

class CpioWriter {
  private offset = 0;
  private ino = 1;
  constructor(private readonly out: FileHandle) {}

  async entry(name: string, mode: number, data: Buffer): Promise<void> {
    const nameBuf = Buffer.from(`${name}\0`);
    const nlink = (mode & 0o170000) === 0o040000 ? 2 : 1;
    const head = Buffer.from(header({ ino: this.ino++, mode, nlink, size: data.length, nameSize: nameBuf.length }));
    const parts: Buffer[] = [head, nameBuf];
    parts.push(pad4(head.length + nameBuf.length));
    parts.push(data, pad4(data.length));
    const chunk = Buffer.concat(parts);
    await this.out.write(chunk);
    this.offset += chunk.length;
  }

  async finish(): Promise<void> {
    await this.entry(TRAILER, 0, Buffer.alloc(0));
  }
}

/** Writes every file, directory and symlink under `root` into a newc archive at `outFile`. */
export async function writeCpio(root: string, outFile: string): Promise<void> {
  const out = await open(outFile, 'w');
  try {
    const writer = new CpioWriter(out);
    const walk = async (rel: string): Promise<void> => {
      const names = (await readdir(join(root, rel))).sort();
      for (const name of names) {
        const relPath = rel ? `${rel}/${name}` : name;
        const abs = join(root, relPath);
        const st = await lstat(abs);
        if (st.isSymbolicLink()) {
          await writer.entry(relPath, 0o120777, Buffer.from(await readlink(abs)));
        } else if (st.isDirectory()) {
          await writer.entry(relPath, 0o040000 | (st.mode & 0o7777), Buffer.alloc(0));
          await walk(relPath);
        } else if (st.isFile()) {
          await writer.entry(relPath, 0o100000 | (st.mode & 0o7777), await readFile(abs));
        }
      }
    };
    await walk('');
    await writer.finish();
  } finally {
    await out.close();
  }
}
