/**
 * Unpacks a `.zip` a person imports into a room (issue 11), refusing anything
 * a room could not hold or that is not a plain file: names are checked with
 * the workspace path rule (no `..`, no absolute paths, no backslashes), and
 * symbolic links, devices, encrypted entries, duplicates, file/folder clashes,
 * too many files and oversized entries (declared or actual: yauzl checks that
 * each entry inflates to exactly its declared size) are refused with an error
 * naming the entry. Sizes are bounded before anything is inflated, so a zip
 * bomb costs at most the caps.
 * @module
 */
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import type { Entry } from 'yauzl';
import { CodeCellError, formatBytes, textOf, workspacePathSchema } from '@codecell/protocol';

/** Caps of one import (the room's). */
export interface ZipImportLimits {
  /** MAX_FILE_BYTES: largest binary entry. */
  readonly maxFileBytes: number;
  /** MAX_ROOM_BYTES: largest text entry, and all entries together, uncompressed. */
  readonly maxTotalBytes: number;
  /** MAX_ROOM_FILES: most files. */
  readonly maxFiles: number;
}

/** One file of an imported zip. */
export interface ImportedFile {
  readonly path: string;
  readonly bytes: Buffer;
  /** The text when the bytes are UTF-8 without NUL (kept as Y.Text), else null (binary). */
  readonly text: string | null;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
/** "Version made by" hosts whose external attributes carry a Unix mode (Unix, macOS). */
const UNIX_HOSTS = new Set([3, 19]);

function refuse(name: string, why: string, code: 'invalid_path' | 'invalid_request' | 'files_too_large' | 'too_many_files' = 'invalid_request'): CodeCellError {
  return new CodeCellError(code, `zip entry "${name.slice(0, 120)}" ${why}`);
}

/** The kind of an entry from its Unix mode (when the zip has one) and its name. */
function kindOf(entry: Entry, name: string): 'file' | 'dir' | 'link' | 'other' {
  const mode = UNIX_HOSTS.has(entry.versionMadeBy >> 8) ? (entry.externalFileAttributes >>> 16) & S_IFMT : 0;
  if (mode === S_IFLNK) return 'link';
  if (name.endsWith('/') || mode === S_IFDIR) return 'dir';
  if (mode === 0 || mode === S_IFREG) return 'file';
  return 'other';
}

/**
 * Checks an entry's name, kind and declared size; returns its workspace path,
 * or null for a folder (folders are implied by the files in them).
 * @throws CodeCellError naming the entry and the rule it broke
 */
function checkEntry(entry: Entry, name: string, limits: ZipImportLimits): string | null {
  const kind = kindOf(entry, name);
  if (kind === 'link') throw refuse(name, 'is a symbolic link; a room holds only files (zip the file it points to instead)', 'invalid_path');
  if (kind === 'other') throw refuse(name, 'is not a file or folder (a device, pipe or socket)', 'invalid_path');
  const path = kind === 'dir' ? name.replace(/\/+$/, '') : name;
  const bad = workspacePathSchema.safeParse(path).error?.issues[0]?.message;
  if (bad !== undefined) throw refuse(name, `has a path a room cannot hold: ${bad}`, 'invalid_path');
  if (kind === 'dir') return null;
  if (entry.isEncrypted()) throw refuse(name, 'is encrypted; import a zip without a password');
  if (!entry.canDecodeFileData()) throw refuse(name, `uses compression method ${entry.compressionMethod}; only stored and deflated entries can be imported`);
  if (entry.uncompressedSize > limits.maxTotalBytes) {
    throw refuse(name, `is ${formatBytes(entry.uncompressedSize)} uncompressed; the limit is ${formatBytes(limits.maxTotalBytes)} (MAX_ROOM_BYTES)`, 'files_too_large');
  }
  return path;
}

async function readAll(stream: Readable, max: number, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    n += chunk.length;
    // yauzl already stops at the declared size; this bounds memory even if it did not.
    if (n > max) {
      stream.destroy();
      throw refuse(name, `inflates past ${formatBytes(max)}`, 'files_too_large');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function checkClashes(paths: readonly string[]): void {
  const set = new Set(paths);
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (set.has(dir)) throw refuse(p, `is inside "${dir}", which is also a file in this zip`, 'invalid_path');
    }
  }
}

/**
 * The files of a zip, checked against `limits`.
 * @throws CodeCellError invalid_request (not a zip, encrypted, unsupported), invalid_path (bad name, link, clash), files_too_large, too_many_files
 */
export async function unpackZip(zip: Buffer, limits: ZipImportLimits): Promise<ImportedFile[]> {
  let archive: yauzl.ZipFile;
  try {
    archive = await yauzl.fromBufferPromise(zip, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, strictFileNames: false });
  } catch (err) {
    throw new CodeCellError('invalid_request', `this is not a zip file yauzl can read: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const out: ImportedFile[] = [];
  const seen = new Set<string>();
  let total = 0;
  try {
    for await (const entry of archive.eachEntry()) {
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false);
      const path = checkEntry(entry, name, limits);
      if (path === null) continue;
      if (seen.has(path)) throw refuse(name, 'appears twice in the zip', 'invalid_path');
      seen.add(path);
      if (seen.size > limits.maxFiles) throw refuse(name, `is file number ${seen.size}; a room holds at most ${limits.maxFiles} (MAX_ROOM_FILES)`, 'too_many_files');
      total += entry.uncompressedSize;
      if (total > limits.maxTotalBytes) {
        throw refuse(name, `brings the zip to ${formatBytes(total)} uncompressed; a room holds at most ${formatBytes(limits.maxTotalBytes)} (MAX_ROOM_BYTES)`, 'files_too_large');
      }
      const bytes = await readAll(await archive.openReadStreamPromise(entry), entry.uncompressedSize, name);
      const text = textOf(bytes);
      if (text === null && bytes.length > limits.maxFileBytes) {
        throw refuse(name, `is a binary file of ${formatBytes(bytes.length)}; the limit is ${formatBytes(limits.maxFileBytes)} (MAX_FILE_BYTES)`, 'files_too_large');
      }
      out.push({ path, bytes, text });
    }
  } catch (err) {
    if (err instanceof CodeCellError) throw err;
    throw new CodeCellError('invalid_request', `the zip is damaged: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  } finally {
    archive.close();
  }
  checkClashes(out.map((f) => f.path));
  return out;
}
