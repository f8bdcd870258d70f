/**
 * Reading and writing a room's Yjs document in the layout of
 * `@codecell/protocol` (`ROOM_DOC`): seeding, the room summary `getRoom`
 * returns, and the run records. Pure functions over a `Y.Doc`.
 * @module
 */
import * as Y from 'yjs';
import { COLLAB_PROTOCOL_VERSION, MAX_ROOM_RUNS, ROOM_DOC, ROOM_META_KEYS, helloTemplate, isFinalRunStatus } from '@codecell/protocol';
import type { GetRoomOutput, RoomRunRecord, RuntimeId, TemplateFile } from '@codecell/protocol';

/** Entry file of a new Python room. */
export const STARTER_ENTRY = 'main.py';

/** The program a new room starts with. */
export const STARTER_MAIN_PY = `# Welcome to CodeCell Live! Everyone in this room edits this file together.
# Press Run: the program runs in a fresh microVM and everyone sees the output.
import time

for i in range(1, 6):
    print(f"Hello from the sandbox ({i}/5)")
    time.sleep(0.2)

print("Done. Edit me and run again!")
`;

/**
 * The files a new room starts with: the Python starter, or the hello-world
 * template of the runtime it was created for (`main.go`…); the first is its entry.
 */
export function starterFiles(language: RuntimeId | null | undefined): TemplateFile[] {
  return language === null || language === undefined || language === 'py' ? [{ path: STARTER_ENTRY, content: STARTER_MAIN_PY }] : helloTemplate(language);
}

/** What seeding a room needs: its registered title, creation time and language. */
export interface SeedInfo {
  readonly title: string;
  readonly createdAt: number;
  /** The runtime it was created for; null or absent: Python. */
  readonly language?: RuntimeId | null;
}

/** Title of a room created without one. */
export const DEFAULT_ROOM_TITLE = 'Untitled room';

/** A file's value in `files`: text edited together, or bytes replaced whole. */
export type RoomFileValue = Y.Text | Uint8Array;

/** The `files` map: path → content. */
export function roomFiles(doc: Y.Doc): Y.Map<RoomFileValue> {
  return doc.getMap<RoomFileValue>(ROOM_DOC.files);
}

/** A file's path and bytes (text as UTF-8). */
export interface FileBytes {
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** Every file of the room as bytes, sorted by path. */
export function roomFileBytes(doc: Y.Doc): FileBytes[] {
  const out: FileBytes[] = [];
  for (const [path, value] of roomFiles(doc)) {
    if (value instanceof Y.Text) out.push({ path, bytes: Buffer.from(value.toJSON(), 'utf8') });
    else if (value instanceof Uint8Array) out.push({ path, bytes: value });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The `meta` map. */
export function roomMeta(doc: Y.Doc): Y.Map<unknown> {
  return doc.getMap<unknown>(ROOM_DOC.meta);
}

/** The `runs` array, oldest first. */
export function roomRuns(doc: Y.Doc): Y.Array<RoomRunRecord> {
  return doc.getArray<RoomRunRecord>(ROOM_DOC.runs);
}

/**
 * Gives a room its starter program and metadata. Idempotent: files are added
 * only when the room has none, each `meta` key only when missing. Returns true
 * when it changed anything.
 */
export function seedRoom(doc: Y.Doc, room: SeedInfo): boolean {
  let changed = false;
  doc.transact(() => {
    const files = roomFiles(doc);
    const meta = roomMeta(doc);
    const starter = starterFiles(room.language);
    if (files.size === 0) {
      for (const f of starter) files.set(f.path, new Y.Text(f.content));
      changed = true;
    }
    const first = starter[0]?.path ?? STARTER_ENTRY;
    const entry = files.has(first) ? first : files.has(STARTER_ENTRY) ? STARTER_ENTRY : ([...files.keys()].sort()[0] ?? first);
    const defaults: Record<string, unknown> = {
      [ROOM_META_KEYS.entry]: entry,
      [ROOM_META_KEYS.title]: room.title,
      [ROOM_META_KEYS.createdAt]: room.createdAt,
      [ROOM_META_KEYS.protocolVersion]: COLLAB_PROTOCOL_VERSION,
      ...(room.language ? { [ROOM_META_KEYS.language]: room.language } : {}),
    };
    for (const [key, value] of Object.entries(defaults)) {
      if (meta.has(key)) continue;
      meta.set(key, value);
      changed = true;
    }
  });
  return changed;
}

/** True when nothing was ever written to the room's shared types. */
export function isRoomEmpty(doc: Y.Doc): boolean {
  return roomFiles(doc).size === 0 && roomMeta(doc).size === 0 && roomRuns(doc).length === 0;
}

/** What `getRoom` reports of a document (`exists` is decided by the caller). */
export function summarizeRoom(doc: Y.Doc): Omit<GetRoomOutput, 'exists' | 'role'> {
  const meta = roomMeta(doc);
  const title = meta.get(ROOM_META_KEYS.title);
  const entry = meta.get(ROOM_META_KEYS.entry);
  const createdAt = meta.get(ROOM_META_KEYS.createdAt);
  return {
    title: typeof title === 'string' ? title : null,
    files: [...roomFiles(doc).keys()].sort(),
    entry: typeof entry === 'string' ? entry : null,
    createdAt: Number.isSafeInteger(createdAt) ? (createdAt as number) : null,
  };
}

/**
 * Adds the run record, or replaces the one with the same jobId in place
 * (keeping the files it listed), then drops the oldest records beyond
 * {@link MAX_ROOM_RUNS}.
 */
export function upsertRunRecord(doc: Y.Doc, record: RoomRunRecord): void {
  const runs = roomRuns(doc);
  doc.transact(() => {
    const i = findRun(runs, record.jobId);
    if (i >= 0) {
      // The files a run wrote are listed as they come back (runFiles.ts); status updates keep them.
      const { files, filesOmitted } = runs.get(i);
      runs.delete(i, 1);
      runs.insert(i, [{ ...(files ? { files } : {}), ...(filesOmitted ? { filesOmitted } : {}), ...record }]);
    } else {
      runs.push([record]);
    }
    if (runs.length > MAX_ROOM_RUNS) runs.delete(0, runs.length - MAX_ROOM_RUNS);
  });
}

/**
 * Ends records left `queued` or `running` by a gateway that died (their runs
 * are gone): status `killed`, `endedAt` now. Returns how many it ended.
 */
export async function settleStaleRuns(doc: Y.Doc, o: { readonly isLive: (jobId: string) => Promise<boolean>; readonly now: number }): Promise<number> {
  const runs = roomRuns(doc);
  const unfinished = runs.toArray().filter((r) => !isFinalRunStatus(r.status));
  const live = await Promise.all(unfinished.map((r) => o.isLive(r.jobId)));
  const stale = unfinished.filter((_, i) => !live[i]);
  if (stale.length === 0) return 0;
  doc.transact(() => {
    for (const r of stale) upsertRunRecord(doc, { ...r, status: 'killed', endedAt: o.now });
  });
  return stale.length;
}

function findRun(runs: Y.Array<RoomRunRecord>, jobId: string): number {
  // Newest last, and updates concern recent runs: search from the end.
  for (let i = runs.length - 1; i >= 0; i--) if (runs.get(i).jobId === jobId) return i;
  return -1;
}
