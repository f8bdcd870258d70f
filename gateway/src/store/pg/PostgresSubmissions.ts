/**
 * Judge0 submissions (issue 13) on PostgreSQL: the `judge0_submissions`
 * table of migration 4, as SqliteGatewayStore keeps it.
 * @module
 */
import type { SubmissionRow } from '../GatewayStore.js';
import { toSubmission } from '../storeRows.js';
import { alreadyExists } from './PgQueries.js';
import type { PgQueries } from './PgQueries.js';

/** The submission part of the PostgreSQL store. */
export class PostgresSubmissions {
  readonly #q: PgQueries;

  constructor(queries: PgQueries) {
    this.#q = queries;
  }

  /** All or none. */
  async create(rows: readonly SubmissionRow[]): Promise<void> {
    try {
      await this.#q.db.transaction(async (c) => {
        for (const r of rows) {
          await c.query('INSERT INTO judge0_submissions (token, owner, created_at, expires_at, finished_at, record) VALUES ($1, $2, $3, $4, $5, $6)', [
            r.token,
            r.owner,
            r.createdAt,
            r.expiresAt,
            r.finishedAt,
            r.record,
          ]);
        }
      });
    } catch (err) {
      throw alreadyExists(err, 'a submission with this token exists already');
    }
  }

  get(tokens: readonly string[], now: number): Promise<SubmissionRow[]> {
    if (tokens.length === 0) return Promise.resolve([]);
    return this.#q.all('SELECT * FROM judge0_submissions WHERE token = ANY($1::text[]) AND expires_at > $2', [[...tokens], now], toSubmission);
  }

  update(o: { token: string; record: string; finishedAt: number | null }): Promise<boolean> {
    return this.#q.changed('UPDATE judge0_submissions SET record = $1, finished_at = $2 WHERE token = $3', [o.record, o.finishedAt, o.token]);
  }

  listUnfinished(): Promise<SubmissionRow[]> {
    return this.#q.all('SELECT * FROM judge0_submissions WHERE finished_at IS NULL ORDER BY created_at, token COLLATE "C"', [], toSubmission);
  }

  deleteExpired(now: number): Promise<number> {
    return this.#q.changes('DELETE FROM judge0_submissions WHERE expires_at <= $1', [now]);
  }
}
