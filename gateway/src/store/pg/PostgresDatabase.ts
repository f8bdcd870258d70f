/**
 * The gateway database on PostgreSQL (DATABASE_URL): a connection pool whose
 * BIGINT columns read as numbers (epoch milliseconds and ids fit), and the
 * schema brought up to date at start, in one transaction per migration under
 * an advisory lock, so gateways that start together migrate once.
 * @module
 */
import pg from 'pg';
import type { PoolClient } from 'pg';
import { PG_MIGRATIONS } from './pgMigrations.js';

/** The schema version this gateway writes (the same number SQLite's user_version holds). */
export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;
/** pg_advisory_xact_lock key held while migrating. */
const MIGRATION_LOCK = 0x636f6463; // "codc"
const INT8_OID = 20;

/** pg's type parsers, with BIGINT (int8) read as a number instead of a string. */
const int8AsNumber = ((oid: number, format?: 'text' | 'binary'): unknown =>
  oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser;

/** Options of {@link openPostgres}. */
export interface OpenPostgresOptions {
  /** `postgresql://user:password@host:port/db` (or `?host=/socket/dir`). */
  readonly url: string;
  /** Connections in the pool (DATABASE_POOL_SIZE). @default 10 */
  readonly poolSize?: number;
  /** Shown in pg_stat_activity. @default codecell-gateway */
  readonly applicationName?: string;
}

/** An open, migrated database. */
export interface PostgresDatabase {
  readonly pool: pg.Pool;
  /** Runs `fn` in a transaction (rolled back when it throws). */
  transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T>;
  /** Closes the pool. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Connects and applies every pending migration.
 * @throws Error when the database cannot be reached, or was written by a newer gateway
 */
export async function openPostgres(o: OpenPostgresOptions): Promise<PostgresDatabase> {
  const pool = new pg.Pool({
    connectionString: o.url,
    max: o.poolSize ?? 10,
    application_name: o.applicationName ?? 'codecell-gateway',
    connectionTimeoutMillis: 10_000,
    types: { getTypeParser: int8AsNumber },
  });
  // An idle client that loses its connection must not crash the gateway; the pool replaces it.
  pool.on('error', () => undefined);
  let closed: Promise<void> | null = null;
  const db: PostgresDatabase = {
    pool,
    transaction: async (fn) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const r = await fn(client);
        await client.query('COMMIT');
        return r;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => (closed ??= pool.end()),
  };
  try {
    await migrate(db, o.url);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

async function migrate(db: PostgresDatabase, url: string): Promise<void> {
  for (;;) {
    const applied = await db.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS codecell_schema (version INTEGER NOT NULL)');
      const r = await c.query<{ version: number }>('SELECT version FROM codecell_schema');
      const version = r.rows[0]?.version ?? 0;
      if (version > PG_SCHEMA_VERSION) {
        throw new Error(`${redact(url)} was written by a newer gateway (schema ${version}, this one knows ${PG_SCHEMA_VERSION}); upgrade the gateway or point DATABASE_URL elsewhere`);
      }
      if (version === PG_SCHEMA_VERSION) return false;
      await c.query(PG_MIGRATIONS[version] ?? '');
      if (r.rows.length === 0) await c.query('INSERT INTO codecell_schema (version) VALUES ($1)', [version + 1]);
      else await c.query('UPDATE codecell_schema SET version = $1', [version + 1]);
      return true;
    });
    if (!applied) return;
  }
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
}
