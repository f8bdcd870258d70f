/**
 * The small query helpers the PostgreSQL store classes share: rows mapped,
 * counts, changed rows, and INSERTs whose unique violation becomes
 * `already_exists`.
 * @module
 */
import type { QueryResultRow } from 'pg';
import { CodeCellError } from '@codecell/protocol';
import type { Raw } from '../storeRows.js';
import type { PostgresDatabase } from './PostgresDatabase.js';

/** PostgreSQL's unique_violation. */
export const UNIQUE_VIOLATION = '23505';

/** Queries on one pool. */
export class PgQueries {
  readonly db: PostgresDatabase;

  constructor(db: PostgresDatabase) {
    this.db = db;
  }

  q(sql: string, params: readonly unknown[]) {
    return this.db.pool.query<QueryResultRow>(sql, [...params]);
  }

  async rows(sql: string, params: readonly unknown[]): Promise<Raw[]> {
    return (await this.q(sql, params)).rows;
  }

  async row(sql: string, params: readonly unknown[]): Promise<Raw | null> {
    return (await this.rows(sql, params))[0] ?? null;
  }

  async one<T>(sql: string, params: readonly unknown[], map: (r: Raw) => T): Promise<T | null> {
    const r = await this.row(sql, params);
    return r ? map(r) : null;
  }

  async all<T>(sql: string, params: readonly unknown[], map: (r: Raw) => T): Promise<T[]> {
    return (await this.rows(sql, params)).map(map);
  }

  async count(sql: string, params: readonly unknown[]): Promise<number> {
    return Number((await this.row(sql, params))?.['n'] ?? 0);
  }

  /** Rows the statement changed. */
  async changes(sql: string, params: readonly unknown[]): Promise<number> {
    return (await this.q(sql, params)).rowCount ?? 0;
  }

  async changed(sql: string, params: readonly unknown[]): Promise<boolean> {
    return (await this.changes(sql, params)) > 0;
  }

  /** Runs an INSERT; a unique violation becomes `already_exists` with `message`. */
  async insert(sql: string, params: readonly unknown[], message: string): Promise<void> {
    try {
      await this.q(sql, params);
    } catch (err) {
      throw alreadyExists(err, message);
    }
  }
}

/** `err` as `already_exists` with `message` when it is a unique violation, else unchanged. */
export function alreadyExists(err: unknown, message: string): unknown {
  return (err as { code?: unknown }).code === UNIQUE_VIOLATION ? new CodeCellError('already_exists', message, { cause: err }) : err;
}
