/**
 * Where the rooms' content lives: each room's Yjs update log in the gateway
 * database (SQLite, WAL; schema in `store/migrations.ts`). Every update is
 * appended synchronously, so it is on disk before the collab server
 * acknowledges it; compaction replaces a room's log with one merged update.
 * Synchronous by design (better-sqlite3): a call returns once SQLite committed.
 * Who owns a room and who may open it is the GatewayStore's business.
 * @module
 */
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { closeGatewayDatabase, openGatewayDatabase } from '../store/migrations.js';
import { mergeIntoState } from './RoomLog.js';

/** The Yjs update logs of the rooms. Close it when done. */
export class RoomStore {
  /** The file in use (or `:memory:`). */
  readonly path: string;
  readonly #db: SqliteDatabase;
  /** Opened by us (from a path), so closed by us. */
  readonly #owned: boolean;
  readonly #append: Statement<[string, Uint8Array]>;
  readonly #load: Statement<[string], { data: Buffer }>;
  readonly #count: Statement<[string], { n: number }>;
  readonly #bytes: Statement<[string], { n: number }>;
  readonly #deleteRoom: Statement<[string]>;
  readonly #replace: (roomId: string, state: Uint8Array) => void;
  readonly #replaceMerged: (roomId: string, state: Uint8Array) => void;

  /**
   * Uses an open gateway database, or opens (creating the file, its directory
   * and the schema) `path` and owns it; `:memory:` keeps nothing.
   */
  constructor(pathOrDb: string | SqliteDatabase) {
    this.#owned = typeof pathOrDb === 'string';
    this.#db = typeof pathOrDb === 'string' ? openGatewayDatabase(pathOrDb) : pathOrDb;
    this.path = this.#db.name;
    this.#append = this.#db.prepare('INSERT INTO room_updates (room_id, data) VALUES (?, ?)');
    this.#load = this.#db.prepare('SELECT data FROM room_updates WHERE room_id = ? ORDER BY id');
    this.#count = this.#db.prepare('SELECT count(*) AS n FROM room_updates WHERE room_id = ?');
    this.#bytes = this.#db.prepare('SELECT coalesce(sum(length(data)), 0) AS n FROM room_updates WHERE room_id = ?');
    this.#deleteRoom = this.#db.prepare('DELETE FROM room_updates WHERE room_id = ?');
    this.#replace = this.#db.transaction((roomId: string, state: Uint8Array) => {
      this.#deleteRoom.run(roomId);
      this.#append.run(roomId, state);
    });
    this.#replaceMerged = this.#db.transaction((roomId: string, state: Uint8Array) => {
      const stored = this.loadUpdates(roomId);
      this.#deleteRoom.run(roomId);
      this.#append.run(roomId, mergeIntoState(stored, state));
    });
  }

  /** True until the database is closed. */
  get open(): boolean {
    return this.#db.open;
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

  /** Bytes the room's log takes (what storage quotas count). */
  storedBytes(roomId: string): number {
    return this.#bytes.get(roomId)?.n ?? 0;
  }

  /**
   * Replaces the room's log with `state` (the whole document as one update) in
   * one transaction. The caller encodes `state` synchronously right before, so
   * no logged update can be missing from it.
   */
  compact(roomId: string, state: Uint8Array): void {
    this.#replace(roomId, state);
  }

  /**
   * Replaces the room's log with the merge of what it holds and `state`, in
   * one transaction: nothing logged can be lost, whatever `state` misses.
   */
  compactWith(roomId: string, state: Uint8Array): void {
    this.#replaceMerged(roomId, state);
  }

  /** Forgets the room's content (the room was deleted). */
  deleteLog(roomId: string): void {
    this.#deleteRoom.run(roomId);
  }

  /** Checkpoints the WAL and closes the database if this store opened it. Safe to call twice. */
  close(): void {
    if (!this.#owned || !this.#db.open) return;
    closeGatewayDatabase(this.#db);
  }
}
