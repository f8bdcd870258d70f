/**
 * The gateway database's schema as numbered migrations. SQLite's
 * `user_version` holds the last one applied; each runs once, in its own
 * transaction, in order. Never edit a released migration: add the next one.
 * @module
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';

/** Each entry migrates from version `index` to `index + 1`. */
export const MIGRATIONS: readonly string[] = [
  // 1: rooms and their Yjs update logs (issue 4).
  `
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
  `,
  // 2: accounts, sessions, tokens, invites, owners, memberships, share links, quotas (issue 9).
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'guest')),
    username TEXT UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT,
    admin INTEGER NOT NULL DEFAULT 0,
    oidc_issuer TEXT,
    oidc_subject TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (oidc_issuer, oidc_subject)
  ) WITHOUT ROWID;
  CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX sessions_by_expiry ON sessions (expires_at);
  CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at INTEGER,
    revoked_at INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX api_tokens_by_user ON api_tokens (user_id);
  CREATE TABLE invites (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
  ) WITHOUT ROWID;
  ALTER TABLE rooms ADD COLUMN owner_id TEXT;
  CREATE INDEX rooms_by_owner ON rooms (owner_id);
  CREATE TABLE share_links (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'runner', 'editor')),
    allow_guests INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX share_links_by_room ON share_links (room_id);
  CREATE TABLE memberships (
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'runner', 'editor')),
    via_link_id TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
  ) WITHOUT ROWID;
  CREATE INDEX memberships_by_user ON memberships (user_id);
  CREATE INDEX memberships_by_link ON memberships (via_link_id);
  CREATE TABLE quota_counters (
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    used REAL NOT NULL,
    PRIMARY KEY (key, kind, window_start)
  ) WITHOUT ROWID;
  CREATE INDEX quota_counters_by_window ON quota_counters (window_start);
  `,
  // 3: the language a room was created for, so seeding at load gives it that language's starter (issue 10).
  `
  ALTER TABLE rooms ADD COLUMN language TEXT;
  `,
  // 4: Judge0 submissions, kept for JUDGE0_RETENTION_HOURS (issue 13).
  `
  CREATE TABLE judge0_submissions (
    token TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    finished_at INTEGER,
    record TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX judge0_submissions_by_expiry ON judge0_submissions (expires_at);
  CREATE INDEX judge0_submissions_unfinished ON judge0_submissions (finished_at) WHERE finished_at IS NULL;
  `,
];

/** The schema version this gateway writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Opens (creating the file and its directory) the gateway database at `path`
 * (or an in-memory one for `:memory:`) and applies every pending migration.
 * @throws Error when the file was written by a newer gateway.
 */
export function openGatewayDatabase(path: string): SqliteDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  // WAL + NORMAL: a commit is in the OS before run() returns, so it survives the
  // process being killed; only a power loss can drop the last few commits.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  try {
    migrate(db, path);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

function migrate(db: SqliteDatabase, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(`${path} was written by a newer gateway (schema ${version}, this one knows ${SCHEMA_VERSION}); upgrade the gateway or point COLLAB_DB elsewhere`);
  }
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] ?? '');
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** Checkpoints the WAL into the main file and closes. Safe to call twice. */
export function closeGatewayDatabase(db: SqliteDatabase): void {
  if (!db.open) return;
  if (db.name !== ':memory:') db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}
