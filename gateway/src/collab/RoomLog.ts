/**
 * Where rooms' Yjs update logs live, as the collaboration server uses them:
 * SQLite (the embedded default, {@link SqliteRoomLog} over RoomStore) or
 * PostgreSQL (`store/pg/PostgresRoomLog.ts`, shared by every gateway of a
 * fleet). An append has committed when its promise resolves. Compaction
 * merges what is stored with the caller's state, so it never drops an update
 * another gateway (or an earlier write of this one) stored meanwhile.
 * @module
 */
import * as Y from 'yjs';
import type { RoomStore } from './RoomStore.js';

/** The rooms' update logs. */
export interface RoomLog {
  /** Which engine (health, logs). */
  readonly kind: 'sqlite' | 'postgres';
  /** False once closed. */
  readonly open: boolean;
  /** The room's updates, oldest first (empty for a room never written). */
  loadUpdates(roomId: string): Promise<Uint8Array[]>;
  /** Appends one update; committed when this resolves. */
  appendUpdate(roomId: string, update: Uint8Array): Promise<void>;
  /** Replaces the room's stored updates by one: their merge with `state`. */
  compact(roomId: string, state: Uint8Array): Promise<void>;
  /** Forgets the room's content (the room was deleted). */
  deleteLog(roomId: string): Promise<void>;
  /** Entries of the room's log. */
  updateCount(roomId: string): Promise<number>;
}

/** The SQLite log (better-sqlite3 is synchronous: each call has committed before it returns its promise). */
export class SqliteRoomLog implements RoomLog {
  readonly kind = 'sqlite';
  readonly store: RoomStore;

  constructor(store: RoomStore) {
    this.store = store;
  }

  get open(): boolean {
    return this.store.open;
  }

  async loadUpdates(roomId: string): Promise<Uint8Array[]> {
    return this.store.loadUpdates(roomId);
  }

  async appendUpdate(roomId: string, update: Uint8Array): Promise<void> {
    this.store.appendUpdate(roomId, update);
  }

  async compact(roomId: string, state: Uint8Array): Promise<void> {
    this.store.compactWith(roomId, state);
  }

  async deleteLog(roomId: string): Promise<void> {
    this.store.deleteLog(roomId);
  }

  async updateCount(roomId: string): Promise<number> {
    return this.store.updateCount(roomId);
  }
}

/** One update holding `state` and everything in `stored` (Yjs merges are unions). */
export function mergeIntoState(stored: readonly Uint8Array[], state: Uint8Array): Uint8Array {
  return stored.length === 0 ? state : Y.mergeUpdates([...stored, state]);
}
