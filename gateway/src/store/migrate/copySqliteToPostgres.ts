/**
 * Copies an SQLite gateway database (COLLAB_DB) into an empty PostgreSQL one
 * (DATABASE_URL): every table, every row, ids and bytes as they are, in one
 * PostgreSQL transaction, then checks that each room's update log is the
 * same byte for byte (a SHA-256 over its updates in order) on both sides.
 * @module
 */
import { createHash } from 'node:crypto';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import type { PoolClient } from 'pg';
import type { PostgresDatabase } from '../pg/PostgresDatabase.js';

/** Tables in the order their references need (users before what points at them). */
export const COPY_ORDER = ['users', 'sessions', 'api_tokens', 'invites', 'rooms', 'share_links', 'memberships', 'quota_counters', 'judge0_submissions', 'room_updates'] as const;
/** Rows per INSERT. */
const BATCH_ROWS = 200;

/** What was copied. */
export interface CopyReport {
  /** Rows per table. */
  readonly rows: Readonly<Record<string, number>>;
  /** Rooms whose update log was compared (all of them). */
  readonly roomsVerified: number;
  readonly bytes: number;
}

/** Thrown when the target is not empty or the copy does not match. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

/**
 * Copies `from` into `to` (migrated to the same schema version, and empty).
 * @throws MigrationError when `to` holds data already, or a room differs after the copy
 */
export async function copySqliteToPostgres(from: SqliteDatabase, to: PostgresDatabase): Promise<CopyReport> {
  const rows: Record<string, number> = {};
  await to.transaction(async (c) => {
    for (const table of COPY_ORDER) {
      const n = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n ?? 0);
      if (n > 0) throw new MigrationError(`the PostgreSQL database is not empty (${table} has ${n} rows); migrate into an empty database`);
    }
    for (const table of COPY_ORDER) rows[table] = await copyTable(from, c, table);
    // Later rows get ids after the copied ones.
    await c.query("SELECT setval(pg_get_serial_sequence('room_updates', 'id'), coalesce((SELECT max(id) FROM room_updates), 0) + 1, false)");
  });
  const { rooms, bytes } = await verifyRooms(from, to);
  return { rows, roomsVerified: rooms, bytes };
}

async function copyTable(from: SqliteDatabase, c: PoolClient, table: string): Promise<number> {
  const order = table === 'room_updates' ? ' ORDER BY id' : '';
  let batch: Record<string, unknown>[] = [];
  let n = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const cols = Object.keys(batch[0] ?? {});
    const values: unknown[] = [];
    const tuples = batch.map((row) => `(${cols.map((col) => `$${values.push(row[col])}`).join(', ')})`);
    await c.query(`INSERT INTO ${table} (${cols.join(', ')}) VALUES ${tuples.join(', ')}`, values);
    n += batch.length;
    batch = [];
  };
  for (const row of from.prepare(`SELECT * FROM ${table}${order}`).iterate() as IterableIterator<Record<string, unknown>>) {
    batch.push(row);
    if (batch.length >= BATCH_ROWS) await flush();
  }
  await flush();
  return n;
}

/** Each room's updates in order, hashed on both sides; they must match. */
async function verifyRooms(from: SqliteDatabase, to: PostgresDatabase): Promise<{ rooms: number; bytes: number }> {
  const digests = new Map<string, ReturnType<typeof createHash>>();
  let bytes = 0;
  for (const r of from.prepare('SELECT room_id, data FROM room_updates ORDER BY room_id, id').iterate() as IterableIterator<{ room_id: string; data: Buffer }>) {
    let h = digests.get(r.room_id);
    if (!h) digests.set(r.room_id, (h = createHash('sha256')));
    h.update(r.data);
    bytes += r.data.byteLength;
  }
  const want = new Map([...digests].map(([room, h]) => [room, h.digest('hex')]));
  const got = await to.pool.query<{ room_id: string; digest: string }>(
    "SELECT room_id, encode(sha256(string_agg(data, ''::bytea ORDER BY id)), 'hex') AS digest FROM room_updates GROUP BY room_id",
  );
  const have = new Map(got.rows.map((r) => [r.room_id, r.digest]));
  for (const [room, digest] of want) {
    if (have.get(room) !== digest) throw new MigrationError(`room ${room} differs after the copy (SQLite ${digest}, PostgreSQL ${have.get(room) ?? 'missing'}); nothing is trustworthy: drop the PostgreSQL database and retry`);
  }
  if (have.size !== want.size) throw new MigrationError(`PostgreSQL has ${have.size} rooms with content, SQLite ${want.size}`);
  return { rooms: want.size, bytes };
}
