/**
 * Where a gateway keeps rooms, accounts and quotas: SQLite (COLLAB_DB, the
 * embedded default) or PostgreSQL (DATABASE_URL, shared by a fleet), both
 * behind the same {@link GatewayStore} and {@link RoomLog}.
 * @module
 */
import type { Database as SqliteDatabase } from 'better-sqlite3';
import type { RoomLog } from './collab/RoomLog.js';
import { SqliteRoomLog } from './collab/RoomLog.js';
import { RoomStore } from './collab/RoomStore.js';
import type { GatewayConfig } from './config.js';
import type { GatewayStore } from './store/GatewayStore.js';
import { closeGatewayDatabase, openGatewayDatabase } from './store/migrations.js';
import { openPostgres, redact } from './store/pg/PostgresDatabase.js';
import { PostgresGatewayStore } from './store/pg/PostgresGatewayStore.js';
import { PostgresRoomLog } from './store/pg/PostgresRoomLog.js';
import { SqliteGatewayStore } from './store/SqliteGatewayStore.js';

/** How long a health check waits for the database, ms. */
export const DATABASE_PING_TIMEOUT_MS = 1_000;

/** What health says of the database. */
export interface DatabaseHealth {
  readonly kind: 'sqlite' | 'postgres';
  readonly ok: boolean;
  readonly latencyMs: number | null;
  readonly message: string | null;
}

/** The open storage of a gateway. */
export interface GatewayStorage {
  readonly kind: 'sqlite' | 'postgres';
  readonly store: GatewayStore;
  readonly log: RoomLog;
  /** The SQLite database (null on PostgreSQL). */
  readonly sqlite: SqliteDatabase | null;
  /** Where it is, for the start-up log line (no password). */
  readonly where: string;
  ping(): Promise<DatabaseHealth>;
  /** Closes the database. Safe to call twice. */
  close(): Promise<void>;
}

/** Opens (and migrates) the database the configuration names. */
export async function openStorage(config: Pick<GatewayConfig, 'COLLAB_DB' | 'DATABASE_URL' | 'DATABASE_POOL_SIZE' | 'GATEWAY_ID'>): Promise<GatewayStorage> {
  if (config.DATABASE_URL !== undefined) {
    const db = await openPostgres({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, applicationName: `codecell-${config.GATEWAY_ID}` });
    const log = new PostgresRoomLog(db);
    return {
      kind: 'postgres',
      store: new PostgresGatewayStore(db),
      log,
      sqlite: null,
      where: redact(config.DATABASE_URL),
      ping: async () => {
        const started = performance.now();
        try {
          const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`PostgreSQL did not answer within ${DATABASE_PING_TIMEOUT_MS} ms`)), DATABASE_PING_TIMEOUT_MS).unref());
          await Promise.race([db.pool.query('SELECT 1'), timeout]);
          return { kind: 'postgres', ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10, message: null };
        } catch (err) {
          return { kind: 'postgres', ok: false, latencyMs: null, message: err instanceof Error ? err.message : String(err) };
        }
      },
      close: async () => {
        log.close();
        await db.close();
      },
    };
  }
  const db = openGatewayDatabase(config.COLLAB_DB);
  return {
    kind: 'sqlite',
    store: new SqliteGatewayStore(db),
    log: new SqliteRoomLog(new RoomStore(db)),
    sqlite: db,
    where: config.COLLAB_DB,
    ping: async () => ({ kind: 'sqlite', ok: db.open, latencyMs: 0, message: db.open ? null : 'the database is closed' }),
    close: async () => closeGatewayDatabase(db),
  };
}
