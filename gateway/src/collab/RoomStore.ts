/**
 * Where rooms live on disk: one SQLite file (better-sqlite3, WAL). Every Yjs
 * update is appended synchronously, so it is on disk before the collab server
 * acknowledges it; compaction replaces a room's log with one merged update.
 * Synchronous by design (better-sqlite3): a call returns once SQLite committed.
 * @module
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';

/** A room registered by `createRoom`. */
export interface RoomRow {
  readonly roomId: string;
  readonly title: string;
  /** Epoch ms. */
  readonly createdAt: number;
}

/** Value of SQLite's `user_version` for this layout; bumped on schema changes. */
const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS rooms (
  room_id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS room_updates (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  room_id TEXT NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS room_updates_by_room ON room_updates (room_id, id);
`;

/** The SQLite store of rooms and their update logs. Close it when done. */
export class RoomStore {
  /** The file in use (or `:memory:`). */
  readonly path: string;
  readonly #db: SqliteDatabase;
  readonly #append: Statement<[string, Uint8Array]>;
  readonly #load: Statement<[string], { data: Buffer }>;
  readonly #count: Statement<[string], { n: number }>;
  readonly #deleteRoom: Statement<[string]>;
  readonly #insertRoom: Statement<[string, string, number]>;
  readonly #getRoom: Statement<[string], { room_id: string; title: string; created_at: number }>;
  readonly #replace: (roomId: string, state: Uint8Array) => void;

  /** Opens (creating the file and its directory) `path`, or an in-memory store for `:memory:`. */
  constructor(path: string) {
    this.path = path;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.#db = new Database(path);
    // WAL + NORMAL: a commit is in the OS before run() returns, so it survives the
    // process being killed; only a power loss can drop the last few commits.
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('busy_timeout = 5000');
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      this.#db.close();
      throw new Error(`${path} was written by a newer gateway (schema ${version}, this one knows ${SCHEMA_VERSION}); upgrade the gateway or point COLLAB_DB elsewhere`);
    }
    this.#db.exec(SCHEMA);
    this.#db.pragma(`user_version = ${SCHEMA_VERSION}`);
    this.#append = this.#db.prepare('INSERT INTO room_updates (room_id, data) VALUES (?, ?)');
    this.#load = this.#db.prepare('SELECT data FROM room_updates WHERE room_id = ? ORDER BY id');
    this.#count = this.#db.prepare('SELECT count(*) AS n FROM room_updates WHERE room_id = ?');
    this.#deleteRoom = this.#db.prepare('DELETE FROM room_updates WHERE room_id = ?');
    this.#insertRoom = this.#db.prepare('INSERT OR IGNORE INTO rooms (room_id, title, created_at) VALUES (?, ?, ?)');
    this.#getRoom = this.#db.prepare('SELECT room_id, title, created_at FROM rooms WHERE room_id = ?');
    this.#replace = this.#db.transaction((roomId: string, state: Uint8Array) => {
      this.#deleteRoom.run(roomId);
      this.#append.run(roomId, state);
    });
  }

  /** True until {@link close}. */
  get open(): boolean {
    return this.#db.open;
  }

  /** Records a room created by `createRoom`; false when it was already registered. */
  registerRoom(room: RoomRow): boolean {
    return this.#insertRoom.run(room.roomId, room.title, room.createdAt).changes > 0;
  }

  /** The registered room, or null. */
  getRoom(roomId: string): RoomRow | null {
    const row = this.#getRoom.get(roomId);
    return row ? { roomId: row.room_id, title: row.title, createdAt: row.created_at } : null;
  }

  /** Appends one Yjs update to the room's log; committed when this returns. */
  appendUpdate(roomId: string, update: Uint8Array): void {
    this.#append.run(roomId, update);
  }

  /** The room's updates, oldest first (empty for a room never written). */
  loadUpdates(roomId: string): Uint8Array[] {
    return this.#load.all(roomId).map((r) => new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength));
  }

  /** Number of log entries of the room (1 right after compaction). */
  updateCount(roomId: string): number {
    return this.#count.get(roomId)?.n ?? 0;
  }

  /**
   * Replaces the room's log with `state` (the whole document as one update) in
   * one transaction. The caller encodes `state` synchronously right before, so
   * no logged update can be missing from it.
   */
  compact(roomId: string, state: Uint8Array): void {
    this.#replace(roomId, state);
  }

  /** Checkpoints the WAL into the main file and closes. Safe to call twice. */
  close(): void {
    if (!this.#db.open) return;
    if (this.path !== ':memory:') this.#db.pragma('wal_checkpoint(TRUNCATE)');
    this.#db.close();
  }
}
