/**
 * The rooms' Yjs update logs on PostgreSQL ({@link RoomLog}), shared by every
 * gateway of a fleet: an append is one INSERT, committed when it resolves.
 * Compaction takes the room's advisory lock, merges the rows it read with
 * the caller's state and deletes only those rows, so updates other gateways
 * append meanwhile stay.
 * @module
 */
import type { RoomLog } from '../../collab/RoomLog.js';
import { mergeIntoState } from '../../collab/RoomLog.js';
import type { PostgresDatabase } from './PostgresDatabase.js';

/** Room logs in PostgreSQL. Closing the pool is the owner's business. */
export class PostgresRoomLog implements RoomLog {
  readonly kind = 'postgres';
  readonly #db: PostgresDatabase;
  #open = true;

  constructor(db: PostgresDatabase) {
    this.#db = db;
  }

  get open(): boolean {
    return this.#open;
  }

  /** Marks the log closed (the pool is closed by its owner right after). */
  close(): void {
    this.#open = false;
  }

  async loadUpdates(roomId: string): Promise<Uint8Array[]> {
    const r = await this.#db.pool.query<{ data: Buffer }>('SELECT data FROM room_updates WHERE room_id = $1 ORDER BY id', [roomId]);
    return r.rows.map((row) => new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength));
  }

  async appendUpdate(roomId: string, update: Uint8Array): Promise<void> {
    await this.#db.pool.query('INSERT INTO room_updates (room_id, data) VALUES ($1, $2)', [roomId, Buffer.from(update.buffer, update.byteOffset, update.byteLength)]);
  }

  async compact(roomId: string, state: Uint8Array): Promise<void> {
    await this.#db.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`room:${roomId}`]);
      const r = await c.query<{ id: number; data: Buffer }>('SELECT id, data FROM room_updates WHERE room_id = $1 ORDER BY id', [roomId]);
      const last = r.rows.at(-1)?.id;
      const merged = mergeIntoState(
        r.rows.map((row) => new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength)),
        state,
      );
      if (last !== undefined) await c.query('DELETE FROM room_updates WHERE room_id = $1 AND id <= $2', [roomId, last]);
      await c.query('INSERT INTO room_updates (room_id, data) VALUES ($1, $2)', [roomId, Buffer.from(merged.buffer, merged.byteOffset, merged.byteLength)]);
    });
  }

  async deleteLog(roomId: string): Promise<void> {
    await this.#db.pool.query('DELETE FROM room_updates WHERE room_id = $1', [roomId]);
  }

  async updateCount(roomId: string): Promise<number> {
    const r = await this.#db.pool.query<{ n: string | number }>('SELECT count(*) AS n FROM room_updates WHERE room_id = $1', [roomId]);
    return Number(r.rows[0]?.n ?? 0);
  }
}
