/**
 * A room as a `.zip` (issue 11), written with yazl as a stream: entries are
 * deflated and sent as the response drains, so the archive is never built in
 * memory. Paths are the room's workspace paths; the zip has no top folder, so
 * importing it into an empty room gives the same files.
 * @module
 */
import type { Readable } from 'node:stream';
import yazl from 'yazl';

/** One file to put in the zip. */
export interface ExportedFile {
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** The zip of `files` as a stream (pipe it to the response). */
export function zipStream(files: Iterable<ExportedFile>, mtime: Date = new Date()): Readable {
  const zip = new yazl.ZipFile();
  for (const f of files) zip.addBuffer(Buffer.from(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength), f.path, { mtime, mode: 0o100644, compress: true });
  zip.end();
  return zip.outputStream as Readable;
}
