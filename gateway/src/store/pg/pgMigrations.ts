/**
 * The gateway database's schema on PostgreSQL: the same numbered migrations
 * as SQLite's (`../migrations.ts`), with the same tables, columns and
 * meanings, written in PostgreSQL's dialect (BIGINT epoch milliseconds,
 * BYTEA updates, INTEGER 0/1 flags as in SQLite so rows map the same way).
 * `codecell_schema.version` holds the last one applied. A test checks both
 * lists describe the same schema.
 * @module
 */

/** Each entry migrates from version `index` to `index + 1` (as MIGRATIONS does for SQLite). */
export const PG_MIGRATIONS: readonly string[] = [
  // 1: rooms and their Yjs update logs (issue 4).
  `
  CREATE TABLE rooms (
    room_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE room_updates (
    id BIGSERIAL PRIMARY KEY,
    room_id TEXT NOT NULL,
    data BYTEA NOT NULL
  );
  CREATE INDEX room_updates_by_room ON room_updates (room_id, id);
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
    created_at BIGINT NOT NULL,
    UNIQUE (oidc_issuer, oidc_subject)
  );
  CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  );
  CREATE INDEX sessions_by_expiry ON sessions (expires_at);
  CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    expires_at BIGINT,
    revoked_at BIGINT
  );
  CREATE INDEX api_tokens_by_user ON api_tokens (user_id);
  CREATE TABLE invites (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
  );
  ALTER TABLE rooms ADD COLUMN owner_id TEXT;
  CREATE INDEX rooms_by_owner ON rooms (owner_id);
  CREATE TABLE share_links (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'runner', 'editor')),
    allow_guests INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
  );
  CREATE INDEX share_links_by_room ON share_links (room_id);
  CREATE TABLE memberships (
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'runner', 'editor')),
    via_link_id TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
  );
  CREATE INDEX memberships_by_user ON memberships (user_id);
  CREATE INDEX memberships_by_link ON memberships (via_link_id);
  CREATE TABLE quota_counters (
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    used DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (key, kind, window_start)
  );
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
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    finished_at BIGINT,
    record TEXT NOT NULL
  );
  CREATE INDEX judge0_submissions_by_expiry ON judge0_submissions (expires_at);
  CREATE INDEX judge0_submissions_unfinished ON judge0_submissions (finished_at) WHERE finished_at IS NULL;
  `,
];
