/**
 * Folders and bringing files in (issue 11). A folder is the files under it:
 * creating one adds `<folder>/.gitkeep`; renaming moves every file under it
 * and deleting removes them, each in one Yjs transaction. Uploads (picked,
 * dropped, or unpacked from a zip by the gateway) are checked whole before
 * anything is written, against the path rule and the room's caps, and the
 * error names the file that broke a rule. Text (UTF-8 without NUL) becomes a
 * Y.Text, anything else a Uint8Array.
 * @module
 */
import * as Y from 'yjs';
import { DEFAULT_MAX_FILE_BYTES, base64ToBytes, formatBytes, textOf } from '@codecell/protocol';
import type { GetRoomOutput, WorkspaceFile } from '@codecell/protocol';
import { deleteFile, FileNameError, filePaths, filesOf, moveFiles, normalizePath, pathProblem } from './roomFiles';

/** The file a new, empty folder holds so that it exists for everyone (and in /workspace). */
export const FOLDER_KEEP_FILE = '.gitkeep';

/** The room's caps (`getRoom().limits`); the gateway's defaults until they are known. */
export type RoomLimits = NonNullable<GetRoomOutput['limits']>;
export const DEFAULT_ROOM_LIMITS: RoomLimits = { maxFileBytes: DEFAULT_MAX_FILE_BYTES, maxRoomBytes: 5 * 1024 * 1024, maxRoomFiles: 100 };

/** Files under `dir` (not `dir` itself). */
function under(paths: readonly string[], dir: string): string[] {
  return paths.filter((p) => p.startsWith(`${dir}/`));
}

/** Creates an empty folder (as `<folder>/.gitkeep`). @throws FileNameError */
export function createFolder(doc: Y.Doc, raw: string): string {
  const dir = normalizePath(raw).replace(/\/+$/, '');
  const paths = filePaths(doc);
  if (under(paths, dir).length > 0) throw new FileNameError(`${dir} already exists`);
  const problem = pathProblem(dir, paths) ?? pathProblem(`${dir}/${FOLDER_KEEP_FILE}`, paths);
  if (problem !== null) throw new FileNameError(problem);
  filesOf(doc).set(`${dir}/${FOLDER_KEEP_FILE}`, new Y.Text(''));
  return dir;
}

/** Moves every file under `from` to `to`, in one transaction; the entry follows. @throws FileNameError */
export function renameFolder(doc: Y.Doc, from: string, raw: string): string {
  const to = normalizePath(raw).replace(/\/+$/, '');
  if (to === from) return from;
  const paths = filePaths(doc);
  const moving = under(paths, from);
  if (moving.length === 0) throw new FileNameError(`${from} no longer exists`);
  if (to.startsWith(`${from}/`)) throw new FileNameError(`${to} is inside ${from}; choose a name outside it`);
  const rest = paths.filter((p) => !p.startsWith(`${from}/`));
  const moves = moving.map((p): [string, string] => [p, `${to}${p.slice(from.length)}`]);
  for (const [, target] of moves) {
    const problem = pathProblem(target, rest);
    if (problem !== null) throw new FileNameError(problem);
  }
  moveFiles(doc, moves);
  return to;
}

/** Deletes every file under `dir` in one transaction (the entry moves on, as for one file). */
export function deleteFolder(doc: Y.Doc, dir: string): void {
  const paths = under(filePaths(doc), dir);
  doc.transact(() => {
    for (const p of paths) deleteFile(doc, p);
  });
}

/** A file to bring into the room. */
export interface IncomingFile {
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** The files of a zip the gateway unpacked, as {@link IncomingFile}s. */
export function incomingFromWorkspace(files: readonly WorkspaceFile[]): IncomingFile[] {
  return files.map((f) => ({ path: f.path, bytes: f.encoding === 'base64' ? base64ToBytes(f.content) : new TextEncoder().encode(f.content) }));
}

/**
 * Adds (or replaces) files in one transaction, after checking all of them:
 * paths, file/folder clashes, MAX_FILE_BYTES for binary files, MAX_ROOM_FILES,
 * and MAX_ROOM_BYTES for everything together. Returns the paths written.
 * @throws FileNameError naming the first file that breaks a rule (nothing is written)
 */
export function addFiles(doc: Y.Doc, incoming: readonly IncomingFile[], limits: RoomLimits): string[] {
  const existing = filePaths(doc);
  const replaced = new Set(incoming.map((f) => normalizePath(f.path)).filter((p) => existing.includes(p)));
  const others = existing.filter((p) => !replaced.has(p));
  const values: Array<[string, Y.Text | Uint8Array]> = [];
  let bytes = Y.encodeStateAsUpdate(doc).byteLength;
  for (const f of incoming) {
    const path = normalizePath(f.path);
    const problem = pathProblem(path, [...others, ...values.map(([p]) => p)]);
    if (problem !== null) throw new FileNameError(`${f.path}: ${problem}`);
    const text = textOf(f.bytes);
    if (text === null && f.bytes.byteLength > limits.maxFileBytes) {
      throw new FileNameError(`${path} is ${formatBytes(f.bytes.byteLength)}; a binary file may be at most ${formatBytes(limits.maxFileBytes)} (MAX_FILE_BYTES)`);
    }
    bytes += f.bytes.byteLength;
    if (bytes > limits.maxRoomBytes) throw new FileNameError(`${path} does not fit: the room would hold over ${formatBytes(limits.maxRoomBytes)} (MAX_ROOM_BYTES)`);
    // Yjs takes only plain Uint8Arrays (not subclasses such as Buffer).
    values.push([path, text === null ? Uint8Array.from(f.bytes) : new Y.Text(text)]);
  }
  if (others.length + values.length > limits.maxRoomFiles) {
    throw new FileNameError(`${values.length} files do not fit: the room has ${others.length} and holds at most ${limits.maxRoomFiles} (MAX_ROOM_FILES)`);
  }
  const files = filesOf(doc);
  doc.transact(() => {
    for (const [path, value] of values) files.set(path, value);
  });
  return values.map(([p]) => p);
}
