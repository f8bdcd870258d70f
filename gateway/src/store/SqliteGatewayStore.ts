/**
 * {@link GatewayStore} on SQLite (better-sqlite3), in the same database file as
 * the rooms' Yjs logs (COLLAB_DB). better-sqlite3 is synchronous: each method
 * has committed when its promise settles. Statements are prepared once.
 * @module
 */
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { CodeCellError } from '@codecell/protocol';
import type {
  ApiTokenRow,
  GatewayStore,
  InviteRow,
  LinkRow,
  MemberWithUser,
  MembershipRow,
  QuotaWindow,
  RoomRow,
  RoomWithAccess,
  SessionRow,
  SubmissionRow,
  UserRow,
} from './GatewayStore.js';
import { USER_COLUMNS, toApiToken, toInvite, toLink, toMembership, toRoom, toSession, toSubmission, toUser, userColumnsAs } from './storeRows.js';
import type { Raw } from './storeRows.js';

/** The SQLite store. It does not own the database: whoever opened it closes it. */
export class SqliteGatewayStore implements GatewayStore {
  readonly #db: SqliteDatabase;
  readonly #statements = new Map<string, Statement>();

  constructor(db: SqliteDatabase) {
    this.#db = db;
  }

  async createUser(u: UserRow): Promise<void> {
    this.#insert(
      'INSERT INTO users (id, kind, username, display_name, password_hash, admin, oidc_issuer, oidc_subject, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [u.id, u.kind, u.username, u.displayName, u.passwordHash, u.admin ? 1 : 0, u.oidcIssuer, u.oidcSubject, u.createdAt],
      u.username === null ? 'this account exists already' : `the username "${u.username}" is taken; choose another`,
    );
  }

  async getUser(id: string): Promise<UserRow | null> {
    return this.#one(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`, [id], toUser);
  }

  async findUserByUsername(username: string): Promise<UserRow | null> {
    return this.#one(`SELECT ${USER_COLUMNS} FROM users WHERE username = ?`, [username.toLowerCase()], toUser);
  }

  async findUserByOidc(issuer: string, subject: string): Promise<UserRow | null> {
    return this.#one(`SELECT ${USER_COLUMNS} FROM users WHERE oidc_issuer = ? AND oidc_subject = ?`, [issuer, subject], toUser);
  }

  async countAdmins(): Promise<number> {
    return (this.#stmt('SELECT count(*) AS n FROM users WHERE admin = 1').get() as { n: number }).n;
  }

  async createSession(s: SessionRow): Promise<void> {
    this.#stmt('INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)').run(s.tokenHash, s.userId, s.createdAt, s.expiresAt);
  }

  async getSession(tokenHash: string, now: number): Promise<{ session: SessionRow; user: UserRow } | null> {
    const r = this.#stmt(`SELECT s.*, ${userColumnsAs('u', 'u_')} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires_at > ?`).get(tokenHash, now) as
      | Raw
      | undefined;
    return r ? { session: toSession(r), user: toUser(r, 'u_') } : null;
  }

  async deleteSession(tokenHash: string): Promise<void> {
    this.#stmt('DELETE FROM sessions WHERE token_hash = ?').run(tokenHash);
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    return this.#stmt('DELETE FROM sessions WHERE expires_at <= ?').run(now).changes;
  }

  async createApiToken(t: ApiTokenRow): Promise<void> {
    this.#stmt('INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, last_used_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      t.id,
      t.userId,
      t.name,
      t.tokenHash,
      t.createdAt,
      t.lastUsedAt,
      t.expiresAt,
      t.revokedAt,
    );
  }

  async useApiToken(tokenHash: string, now: number): Promise<{ token: ApiTokenRow; user: UserRow } | null> {
    const r = this.#stmt(
      `SELECT t.*, ${userColumnsAs('u', 'u_')} FROM api_tokens t JOIN users u ON u.id = t.user_id
       WHERE t.token_hash = ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)`,
    ).get(tokenHash, now) as Raw | undefined;
    if (!r) return null;
    this.#stmt('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(now, r['id']);
    return { token: { ...toApiToken(r), lastUsedAt: now }, user: toUser(r, 'u_') };
  }

  async listApiTokens(userId: string): Promise<ApiTokenRow[]> {
    return this.#all('SELECT * FROM api_tokens WHERE user_id = ? AND revoked_at IS NULL ORDER BY created_at DESC, id', [userId], toApiToken);
  }

  async revokeApiToken(o: { userId: string; id: string; now: number }): Promise<boolean> {
    return this.#stmt('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL').run(o.now, o.id, o.userId).changes > 0;
  }

  async createInvite(i: InviteRow): Promise<void> {
    this.#stmt('INSERT INTO invites (id, token_hash, created_by, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?)').run(
      i.id,
      i.tokenHash,
      i.createdBy,
      i.createdAt,
      i.expiresAt,
      i.usedAt,
    );
  }

  async consumeInvite(tokenHash: string, now: number): Promise<InviteRow | null> {
    const r = this.#stmt('UPDATE invites SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING *').get(now, tokenHash, now) as Raw | undefined;
    return r ? toInvite(r) : null;
  }

  async createRoom(room: RoomRow): Promise<boolean> {
    return (
      this.#stmt('INSERT OR IGNORE INTO rooms (room_id, title, owner_id, created_at, language) VALUES (?, ?, ?, ?, ?)').run(room.roomId, room.title, room.ownerId, room.createdAt, room.language ?? null)
        .changes > 0
    );
  }

  async getRoom(roomId: string): Promise<RoomRow | null> {
    return this.#one('SELECT room_id, title, owner_id, created_at, language FROM rooms WHERE room_id = ?', [roomId], toRoom);
  }

  async deleteRoom(roomId: string): Promise<void> {
    this.#db.transaction(() => {
      this.#stmt('DELETE FROM memberships WHERE room_id = ?').run(roomId);
      this.#stmt('DELETE FROM share_links WHERE room_id = ?').run(roomId);
      this.#stmt('DELETE FROM rooms WHERE room_id = ?').run(roomId);
    })();
  }

  async listRoomsFor(userId: string): Promise<RoomWithAccess[]> {
    const rows = this.#stmt(
      `SELECT r.room_id, r.title, r.owner_id, r.created_at, r.language, m.room_id AS m_room_id, m.user_id, m.role, m.via_link_id, m.created_at AS m_created_at,
              ${userColumnsAs('o', 'o_')}
       FROM rooms r
       LEFT JOIN memberships m ON m.room_id = r.room_id AND m.user_id = ?
       LEFT JOIN users o ON o.id = r.owner_id
       WHERE r.owner_id = ? OR m.user_id IS NOT NULL
       ORDER BY r.created_at DESC, r.room_id`,
    ).all(userId, userId) as Raw[];
    return rows.map((r) => ({
      room: toRoom(r),
      owner: r['o_id'] === null || r['o_id'] === undefined ? null : toUser(r, 'o_'),
      membership: r['m_room_id'] === null || r['owner_id'] === userId ? null : toMembership({ ...r, room_id: r['m_room_id'], created_at: r['m_created_at'] }),
    }));
  }

  async countRoomsOwnedBy(userId: string): Promise<number> {
    return (this.#stmt('SELECT count(*) AS n FROM rooms WHERE owner_id = ?').get(userId) as { n: number }).n;
  }

  async storageBytesOwnedBy(userId: string): Promise<number> {
    const r = this.#stmt('SELECT coalesce(sum(length(u.data)), 0) AS n FROM room_updates u JOIN rooms r ON r.room_id = u.room_id WHERE r.owner_id = ?').get(userId) as {
      n: number;
    };
    return r.n;
  }

  async adoptOwnerlessRooms(o: { userId: string; previousOwners: readonly string[] }): Promise<number> {
    const placeholders = o.previousOwners.map(() => '?').join(', ');
    const where = o.previousOwners.length > 0 ? `owner_id IS NULL OR owner_id IN (${placeholders})` : 'owner_id IS NULL';
    return this.#db.prepare(`UPDATE rooms SET owner_id = ? WHERE ${where}`).run(o.userId, ...o.previousOwners).changes;
  }

  async putMembership(m: MembershipRow): Promise<void> {
    this.#stmt(
      `INSERT INTO memberships (room_id, user_id, role, via_link_id, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (room_id, user_id) DO UPDATE SET role = excluded.role, via_link_id = excluded.via_link_id`,
    ).run(m.roomId, m.userId, m.role, m.viaLinkId, m.createdAt);
  }

  async getMembership(roomId: string, userId: string): Promise<MembershipRow | null> {
    return this.#one('SELECT * FROM memberships WHERE room_id = ? AND user_id = ?', [roomId, userId], toMembership);
  }

  async listMembers(roomId: string): Promise<MemberWithUser[]> {
    const rows = this.#stmt(`SELECT m.*, ${userColumnsAs('u', 'u_')} FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.room_id = ? ORDER BY m.created_at, m.user_id`).all(
      roomId,
    ) as Raw[];
    return rows.map((r) => ({ membership: toMembership(r), user: toUser(r, 'u_') }));
  }

  async deleteMembership(roomId: string, userId: string): Promise<boolean> {
    return this.#stmt('DELETE FROM memberships WHERE room_id = ? AND user_id = ?').run(roomId, userId).changes > 0;
  }

  async createLink(l: LinkRow): Promise<void> {
    this.#stmt('INSERT INTO share_links (id, room_id, token, role, allow_guests, created_by, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      l.id,
      l.roomId,
      l.token,
      l.role,
      l.allowGuests ? 1 : 0,
      l.createdBy,
      l.createdAt,
      l.expiresAt,
      l.revokedAt,
    );
  }

  async getLink(id: string): Promise<LinkRow | null> {
    return this.#one('SELECT * FROM share_links WHERE id = ?', [id], toLink);
  }

  async findLinkByToken(token: string): Promise<LinkRow | null> {
    return this.#one('SELECT * FROM share_links WHERE token = ?', [token], toLink);
  }

  async listLinks(roomId: string): Promise<LinkRow[]> {
    return this.#all('SELECT * FROM share_links WHERE room_id = ? AND revoked_at IS NULL ORDER BY created_at DESC, id', [roomId], toLink);
  }

  async revokeLink(o: { roomId: string; id: string; now: number }): Promise<boolean> {
    return this.#stmt('UPDATE share_links SET revoked_at = ? WHERE id = ? AND room_id = ? AND revoked_at IS NULL').run(o.now, o.id, o.roomId).changes > 0;
  }

  async membersViaLink(linkId: string): Promise<string[]> {
    return (this.#stmt('SELECT user_id FROM memberships WHERE via_link_id = ?').all(linkId) as Array<{ user_id: string }>).map((r) => r.user_id);
  }

  async consumeQuota(o: QuotaWindow & { amount: number; limit: number }): Promise<{ ok: boolean; used: number }> {
    return this.#db.transaction(() => {
      this.#stmt('INSERT OR IGNORE INTO quota_counters (key, kind, window_start, used) VALUES (?, ?, ?, 0)').run(o.key, o.kind, o.windowStart);
      const added = this.#stmt('UPDATE quota_counters SET used = used + ? WHERE key = ? AND kind = ? AND window_start = ? AND used + ? <= ? RETURNING used').get(
        o.amount,
        o.key,
        o.kind,
        o.windowStart,
        o.amount,
        o.limit,
      ) as { used: number } | undefined;
      if (added) return { ok: true, used: added.used };
      return { ok: false, used: this.#quota(o) };
    })();
  }

  async addQuota(o: QuotaWindow & { amount: number }): Promise<number> {
    const r = this.#stmt(
      `INSERT INTO quota_counters (key, kind, window_start, used) VALUES (?, ?, ?, ?)
       ON CONFLICT (key, kind, window_start) DO UPDATE SET used = used + excluded.used RETURNING used`,
    ).get(o.key, o.kind, o.windowStart, o.amount) as { used: number };
    return r.used;
  }

  async getQuota(o: QuotaWindow): Promise<number> {
    return this.#quota(o);
  }

  async pruneQuotas(before: number): Promise<void> {
    this.#stmt('DELETE FROM quota_counters WHERE window_start < ?').run(before);
  }

  async createSubmissions(rows: readonly SubmissionRow[]): Promise<void> {
    const insert = this.#stmt('INSERT INTO judge0_submissions (token, owner, created_at, expires_at, finished_at, record) VALUES (?, ?, ?, ?, ?, ?)');
    try {
      this.#db.transaction(() => {
        for (const r of rows) insert.run(r.token, r.owner, r.createdAt, r.expiresAt, r.finishedAt, r.record);
      })();
    } catch (err) {
      if (isUniqueViolation(err)) throw new CodeCellError('already_exists', 'a submission with this token exists already', { cause: err });
      throw err;
    }
  }

  async getSubmissions(tokens: readonly string[], now: number): Promise<SubmissionRow[]> {
    if (tokens.length === 0) return [];
    const placeholders = tokens.map(() => '?').join(', ');
    const rows = this.#db.prepare(`SELECT * FROM judge0_submissions WHERE token IN (${placeholders}) AND expires_at > ?`).all(...tokens, now) as Raw[];
    return rows.map(toSubmission);
  }

  async updateSubmission(o: { token: string; record: string; finishedAt: number | null }): Promise<boolean> {
    return this.#stmt('UPDATE judge0_submissions SET record = ?, finished_at = ? WHERE token = ?').run(o.record, o.finishedAt, o.token).changes > 0;
  }

  async listUnfinishedSubmissions(): Promise<SubmissionRow[]> {
    return this.#all('SELECT * FROM judge0_submissions WHERE finished_at IS NULL ORDER BY created_at, token', [], toSubmission);
  }

  async deleteExpiredSubmissions(now: number): Promise<number> {
    return this.#stmt('DELETE FROM judge0_submissions WHERE expires_at <= ?').run(now).changes;
  }

  #quota(o: QuotaWindow): number {
    const r = this.#stmt('SELECT used FROM quota_counters WHERE key = ? AND kind = ? AND window_start = ?').get(o.key, o.kind, o.windowStart) as { used: number } | undefined;
    return r?.used ?? 0;
  }

  #stmt(sql: string): Statement {
    let s = this.#statements.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  #one<T>(sql: string, params: unknown[], map: (r: Raw) => T): T | null {
    const r = this.#stmt(sql).get(...params) as Raw | undefined;
    return r ? map(r) : null;
  }

  #all<T>(sql: string, params: unknown[], map: (r: Raw) => T): T[] {
    return (this.#stmt(sql).all(...params) as Raw[]).map(map);
  }

  /** Runs an INSERT; a UNIQUE violation becomes `already_exists` with `message`. */
  #insert(sql: string, params: unknown[], message: string): void {
    try {
      this.#stmt(sql).run(...params);
    } catch (err) {
      if (isUniqueViolation(err)) throw new CodeCellError('already_exists', message, { cause: err });
      throw err;
    }
  }
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
