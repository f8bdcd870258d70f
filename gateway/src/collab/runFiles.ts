/**
 * Files a run wrote, into its room (issue 11): each `file` event becomes the
 * room's file at that path for everyone (text as a Y.Text edited in place,
 * anything else as bytes), and the run's record lists what became of it. The
 * gateway writes through a direct connection, which no RoomGuard hook sees,
 * so the room's rules are applied here: path, MAX_FILE_BYTES for binary
 * files, MAX_ROOM_FILES, MAX_ROOM_BYTES, and no file where a folder is; the
 * owner's storage quota is asked by the caller ({@link pendingBytes}).
 * @module
 */
import * as Y from 'yjs';
import { MAX_RUN_RECORD_FILES, formatBytes, textOf, workspacePathSchema } from '@codecell/protocol';
import type { FileEvent, RoomRunFile, RoomRunRecord } from '@codecell/protocol';
import { roomFiles, roomRuns } from './roomDoc.js';

/** The room caps a run's files are held to. */
export interface RunFileLimits {
  readonly maxFileBytes: number;
  readonly maxRoomBytes: number;
  readonly maxRoomFiles: number;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Why the room cannot take the file, or null. */
function refusal(doc: Y.Doc, o: { path: string; bytes: number; binary: boolean; limits: RunFileLimits }): string | null {
  const files = roomFiles(doc);
  if (!workspacePathSchema.safeParse(o.path).success) return 'its path is not a workspace path';
  if (o.binary && o.bytes > o.limits.maxFileBytes) return `a binary file of ${formatBytes(o.bytes)} is over MAX_FILE_BYTES (${formatBytes(o.limits.maxFileBytes)})`;
  const parts = o.path.split('/');
  for (let i = 1; i < parts.length; i++) if (files.has(parts.slice(0, i).join('/'))) return `${parts.slice(0, i).join('/')} is a file in the room, not a folder`;
  for (const p of files.keys()) if (p.startsWith(`${o.path}/`)) return `${o.path} is a folder in the room`;
  if (!files.has(o.path) && files.size >= o.limits.maxRoomFiles) return `the room already holds MAX_ROOM_FILES (${o.limits.maxRoomFiles}) files`;
  if (Y.encodeStateAsUpdate(doc).byteLength + o.bytes > o.limits.maxRoomBytes) return `the room would grow past MAX_ROOM_BYTES (${formatBytes(o.limits.maxRoomBytes)})`;
  return null;
}

/** What writing the file would do: nothing more to do (`done`), or write these bytes (`text` when it is UTF-8 text). */
type Placement = { readonly kind: 'done'; readonly result: RoomRunFile } | { readonly kind: 'write'; readonly text: string | null; readonly bytes: Buffer };

function plan(doc: Y.Doc, file: FileEvent, limits: RunFileLimits): Placement {
  const base = { path: file.path, size: file.size };
  if (file.truncated) return { kind: 'done', result: { ...base, status: 'truncated', message: `${formatBytes(file.size)} is over the sandbox's cap (OUTPUT_FILE_BYTES or OUTPUT_FILES_BYTES); it stays in the VM until the next run` } };
  const bytes = Buffer.from(file.content, file.encoding === 'base64' ? 'base64' : 'utf8');
  const text = file.encoding === 'utf8' ? file.content : textOf(bytes);
  const problem = refusal(doc, { path: file.path, bytes: bytes.length, binary: text === null, limits });
  if (problem !== null) return { kind: 'done', result: { ...base, status: 'refused', message: problem } };
  const current = roomFiles(doc).get(file.path);
  const same = text !== null ? current instanceof Y.Text && current.toJSON() === text : current instanceof Uint8Array && equalBytes(current, bytes);
  return same ? { kind: 'done', result: { ...base, status: 'unchanged', message: null } } : { kind: 'write', text, bytes };
}

/**
 * Bytes writing the file would add to the room: 0 when it would not be
 * written (truncated, refused by the room's rules, or already there).
 */
export function pendingBytes(doc: Y.Doc, file: FileEvent, limits: RunFileLimits): number {
  const p = plan(doc, file, limits);
  return p.kind === 'write' ? p.bytes.length : 0;
}

/** Puts the file into `files` (call inside a transaction) unless `quota` refused it; what became of it. */
function place(doc: Y.Doc, o: { file: FileEvent; limits: RunFileLimits; quota: string | null }): RoomRunFile {
  const p = plan(doc, o.file, o.limits);
  if (p.kind === 'done') return p.result;
  const base = { path: o.file.path, size: o.file.size };
  if (o.quota !== null) return { ...base, status: 'refused', message: o.quota };
  const files = roomFiles(doc);
  const current = files.get(o.file.path);
  if (p.text !== null && current instanceof Y.Text) {
    // In place: editors bound to this Y.Text keep it.
    current.delete(0, current.length);
    current.insert(0, p.text);
  } else if (p.text !== null) {
    files.set(o.file.path, new Y.Text(p.text));
  } else {
    // Yjs takes only plain Uint8Arrays (not Buffers).
    files.set(o.file.path, Uint8Array.from(p.bytes));
  }
  return { ...base, status: 'written', message: null };
}

/**
 * Writes a file the run `jobId` wrote into the room and lists it in the run's
 * record (a later file of the same path replaces its entry). `quota` is why
 * the room owner's storage quota refused the file's bytes, if it did. Returns
 * what became of it.
 */
export function recordRunFile(doc: Y.Doc, o: { jobId: string; file: FileEvent; limits: RunFileLimits; quota?: string | null }): RoomRunFile {
  let result: RoomRunFile | undefined;
  doc.transact(() => {
    result = place(doc, { file: o.file, limits: o.limits, quota: o.quota ?? null });
    const runs = roomRuns(doc);
    for (let i = runs.length - 1; i >= 0; i--) {
      const record = runs.get(i);
      if (record.jobId !== o.jobId) continue;
      runs.delete(i, 1);
      runs.insert(i, [withFile(record, result)]);
      break;
    }
  });
  return result!;
}

function withFile(record: RoomRunRecord, file: RoomRunFile): RoomRunRecord {
  const files = (record.files ?? []).filter((f) => f.path !== file.path);
  if (files.length >= MAX_RUN_RECORD_FILES) return { ...record, filesOmitted: (record.filesOmitted ?? 0) + 1 };
  return { ...record, files: [...files, file] };
}
