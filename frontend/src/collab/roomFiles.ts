/**
 * The files of a room, in its Yjs document (`ROOM_DOC.files`: path → Y.Text
 * for text, Uint8Array for any other bytes; `meta.entry`: the file Run executes). Every change is a Yjs transaction, so
 * it reaches everyone in the room; paths are checked with the protocol's
 * workspace path rule first (the gateway refuses updates with bad paths, C7).
 * @module
 */
import * as Y from 'yjs';
import { ROOM_DOC, ROOM_META_KEYS, bytesToBase64, runtimeForPath, workspacePathSchema } from '@codecell/protocol';
import type { WorkspaceFile } from '@codecell/protocol';

/** A file's value: text edited together, or bytes replaced whole. */
export type FileValue = Y.Text | Uint8Array;

/** True for what the room counts as a file. */
export function isFileValue(value: unknown): value is FileValue {
  return value instanceof Y.Text || value instanceof Uint8Array;
}

/** The `files` map of a room document. */
export function filesOf(doc: Y.Doc): Y.Map<FileValue> {
  return doc.getMap<FileValue>(ROOM_DOC.files);
}

/** The bytes of a file (text as UTF-8), or null when there is no such file. */
export function fileBytes(doc: Y.Doc, path: string): Uint8Array | null {
  const value = filesOf(doc).get(path);
  if (value instanceof Y.Text) return new TextEncoder().encode(value.toJSON());
  return value instanceof Uint8Array ? value : null;
}

/** The `meta` map of a room document. */
export function metaOf(doc: Y.Doc): Y.Map<unknown> {
  return doc.getMap<unknown>(ROOM_DOC.meta);
}

/** Every path that holds a file (text or binary), sorted. */
export function filePaths(doc: Y.Doc): string[] {
  const out: string[] = [];
  for (const [path, value] of filesOf(doc)) if (isFileValue(value)) out.push(path);
  return out.sort(comparePaths);
}

/** Folders before files at each level, then by name. */
export function comparePaths(a: string, b: string): number {
  const as = a.split('/');
  const bs = b.split('/');
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const x = as[i]!;
    const y = bs[i]!;
    if (x === y) continue;
    const xDir = i < as.length - 1;
    const yDir = i < bs.length - 1;
    if (xDir !== yDir) return xDir ? -1 : 1;
    return x.localeCompare(y);
  }
  return as.length - bs.length;
}

/** The entry file's path (`meta.entry`), or null. */
export function entryOf(doc: Y.Doc): string | null {
  const entry = metaOf(doc).get(ROOM_META_KEYS.entry);
  return typeof entry === 'string' ? entry : null;
}

/** The room's title (`meta.title`), or null. */
export function titleOf(doc: Y.Doc): string | null {
  const title = metaOf(doc).get(ROOM_META_KEYS.title);
  return typeof title === 'string' ? title : null;
}

/** Normalises what the user typed into a path (trims, drops leading "./" and "/"). */
export function normalizePath(raw: string): string {
  return raw.trim().replace(/^(\.\/|\/)+/, '');
}

/**
 * Why `path` cannot be a new file name, or null when it can.
 * @example pathProblem('../x.py', []) // 'path may not contain empty, "." or ".." segments'
 */
export function pathProblem(path: string, existing: readonly string[]): string | null {
  const parsed = workspacePathSchema.safeParse(path);
  if (!parsed.success) return parsed.error.issues[0]?.message ?? 'invalid path';
  if (existing.includes(path)) return `${path} already exists`;
  // A file and a folder cannot share a name in /workspace.
  if (existing.some((p) => p.startsWith(`${path}/`))) return `${path} is a folder`;
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const dir = parts.slice(0, i).join('/');
    if (existing.includes(dir)) return `${dir} is a file, not a folder`;
  }
  return null;
}

/** Thrown by the file operations when a name is refused; the message says why. */
export class FileNameError extends Error {
  override readonly name = 'FileNameError';
}

/** Adds an empty (or given) file. @throws FileNameError */
export function createFile(doc: Y.Doc, rawPath: string, content = ''): string {
  const path = normalizePath(rawPath);
  const problem = pathProblem(path, filePaths(doc));
  if (problem !== null) throw new FileNameError(problem);
  filesOf(doc).set(path, new Y.Text(content));
  return path;
}

/**
 * Renames a file: the new path gets a copy of the text (or the bytes) and the
 * old one is deleted, in one transaction (so everyone sees a rename, never two
 * files); the entry follows. @throws FileNameError
 */
export function renameFile(doc: Y.Doc, from: string, rawTo: string): string {
  const to = normalizePath(rawTo);
  if (to === from) return from;
  if (!isFileValue(filesOf(doc).get(from))) throw new FileNameError(`${from} no longer exists`);
  const problem = pathProblem(to, filePaths(doc).filter((p) => p !== from));
  if (problem !== null) throw new FileNameError(problem);
  moveFiles(doc, [[from, to]]);
  return to;
}

/** Moves each `[from, to]` in one transaction (paths already checked); the entry follows. */
export function moveFiles(doc: Y.Doc, moves: ReadonlyArray<readonly [string, string]>): void {
  const files = filesOf(doc);
  doc.transact(() => {
    const entry = entryOf(doc);
    // Read everything first: a deleted Y.Text has no content left.
    const values = moves.map(([from]) => {
      const value = files.get(from);
      return value instanceof Y.Text ? value.toJSON() : value;
    });
    for (const [from] of moves) files.delete(from);
    moves.forEach(([, to], i) => {
      const value = values[i];
      if (typeof value === 'string') files.set(to, new Y.Text(value));
      else if (value instanceof Uint8Array) files.set(to, value);
    });
    const moved = moves.find(([from]) => from === entry);
    if (moved) metaOf(doc).set(ROOM_META_KEYS.entry, moved[1]);
  });
}

/**
 * Deletes a file. When it was the entry, the entry moves to another file
 * (one of the same language first, then any program file) in the same
 * transaction; the last file can be deleted too.
 */
export function deleteFile(doc: Y.Doc, path: string): void {
  doc.transact(() => {
    filesOf(doc).delete(path);
    if (entryOf(doc) !== path) return;
    const rest = filePaths(doc);
    const language = runtimeForPath(path)?.id;
    const next = rest.find((p) => language !== undefined && runtimeForPath(p)?.id === language) ?? rest.find((p) => runtimeForPath(p) !== undefined) ?? rest[0];
    if (next !== undefined) metaOf(doc).set(ROOM_META_KEYS.entry, next);
  });
}

/** Makes `path` the file Run executes. */
export function setEntry(doc: Y.Doc, path: string): void {
  if (entryOf(doc) !== path) metaOf(doc).set(ROOM_META_KEYS.entry, path);
}

/** What `runCode` needs: every file (text as itself, binary as base64), and the entry. */
export function runFiles(doc: Y.Doc): { files: WorkspaceFile[]; entry: string } {
  const files = filesOf(doc);
  const paths = filePaths(doc);
  return {
    files: paths.map((path): WorkspaceFile => {
      const value = files.get(path)!;
      return value instanceof Y.Text ? { path, content: value.toJSON() } : { path, content: bytesToBase64(value), encoding: 'base64' };
    }),
    entry: entryOf(doc) ?? paths[0] ?? 'main.py',
  };
}

/** A folder or file of the tree the sidebar shows. */
export type TreeNode =
  | { readonly kind: 'dir'; readonly name: string; readonly path: string; readonly children: readonly TreeNode[] }
  | { readonly kind: 'file'; readonly name: string; readonly path: string };

/** Paths as a tree of folders (first) and files. */
export function buildTree(paths: readonly string[]): TreeNode[] {
  interface Dir {
    dirs: Map<string, Dir>;
    files: string[];
  }
  const root: Dir = { dirs: new Map(), files: [] };
  for (const path of paths) {
    const parts = path.split('/');
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      let next = dir.dirs.get(part);
      if (!next) dir.dirs.set(part, (next = { dirs: new Map(), files: [] }));
      dir = next;
    }
    dir.files.push(path);
  }
  const toNodes = (dir: Dir, prefix: string): TreeNode[] => [
    ...[...dir.dirs.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, d]): TreeNode => ({ kind: 'dir', name, path: `${prefix}${name}`, children: toNodes(d, `${prefix}${name}/`) })),
    ...dir.files
      .map((path): TreeNode => ({ kind: 'file', name: path.slice(path.lastIndexOf('/') + 1), path }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  ];
  return toNodes(root, '');
}

/** Monaco language id for a path: its runtime's (`main.go` → `go`, `list.h` → `c`), else plain text. */
export function languageOf(path: string): string {
  return runtimeForPath(path)?.monaco ?? 'plaintext';
}
