/**
 * Writes zip archives byte by byte for tests, including what zip libraries
 * refuse to write: `..` and absolute names, symbolic links, lying sizes.
 * @module
 */
import { crc32, deflateRawSync } from 'node:zlib';

/** One entry; `data` is stored (or deflated with `deflate`). */
export interface RawZipEntry {
  readonly name: string;
  readonly data: Buffer;
  /** Unix mode in the external attributes (made on Unix); default a regular file 0644. */
  readonly mode?: number;
  readonly deflate?: boolean;
  /** Uncompressed size written in the headers, if not the real one (a lying entry). */
  readonly declaredSize?: number;
}

/** The zip holding `entries`. */
export function rawZip(entries: readonly RawZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const body = e.deflate ? deflateRawSync(e.data) : e.data;
    const size = e.declaredSize ?? e.data.length;
    const common = (h: Buffer, at: number): void => {
      h.writeUInt16LE(20, at); // version needed
      h.writeUInt16LE(0x800, at + 2); // UTF-8 names
      h.writeUInt16LE(e.deflate ? 8 : 0, at + 4);
      h.writeUInt32LE(0, at + 6); // time, date
      h.writeUInt32LE(crc32(e.data), at + 10);
      h.writeUInt32LE(body.length, at + 14);
      h.writeUInt32LE(size, at + 18);
      h.writeUInt16LE(name.length, at + 22);
      h.writeUInt16LE(0, at + 24); // extra length
    };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    common(local, 4);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix
    common(central, 6);
    central.writeUInt32LE(((e.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
