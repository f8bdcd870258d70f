/**
 * {@link GatewayStore} on PostgreSQL (DATABASE_URL), in the same database as
 * the rooms' Yjs logs, shared by every gateway of a fleet. Each method is one
 * statement (or one transaction); counters and single-use invites are
 * atomic under concurrent gateways (row locks of UPDATE … RETURNING).
 * Orderings use the C collation, as SQLite compares text.
 * @module
 */
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
} from '../GatewayStore.js';
import { USER_COLUMNS, toApiToken, toInvite, toLink, toMembership, toRoom, toSession, toUser, userColumnsAs } from '../storeRows.js';
import { PgQueries } from './PgQueries.js';
import type { PostgresDatabase } from './PostgresDatabase.js';
import { PostgresSubmissions } from './PostgresSubmissions.js';

/** The PostgreSQL store. It does not own the pool: whoever opened it closes it. */
export class PostgresGatewayStore implements GatewayStore {
  readonly #db: PostgresDatabase;
  readonly #x: PgQueries;
  readonly #submissions: PostgresSubmissions;

  constructor(db: PostgresDatabase) {
    this.#db = db;
    this.#x = new PgQueries(db);
    this.#submissions = new PostgresSubmissions(this.#x);
  }

  async createUser(u: UserRow): Promise<void> {
    await this.#x.insert(
      'INSERT INTO users (id, kind, username, display_name, password_hash, admin, oidc_issuer, oidc_subject, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
      [u.id, u.kind, u.username, u.displayName, u.passwordHash, u.admin ? 1 : 0, u.oidcIssuer, u.oidcSubject, u.createdAt],
      u.username === null ? 'this account exists already' : `the username "${u.username}" is taken; choose another`,
    );
  }

  async getUser(id: string): Promise<UserRow | null> {
    return this.#x.one(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id], toUser);
  }

  async findUserByUsername(username: string): Promise<UserRow | null> {
    return this.#x.one(`SELECT ${USER_COLUMNS} FROM users WHERE username = $1`, [username.toLowerCase()], toUser);
  }

  async findUserByOidc(issuer: string, subject: string): Promise<UserRow | null> {
    return this.#x.one(`SELECT ${USER_COLUMNS} FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2`, [issuer, subject], toUser);
  }

  async countAdmins(): Promise<number> {
    return this.#x.count('SELECT count(*) AS n FROM users WHERE admin = 1', []);
  }

  async createSession(s: SessionRow): Promise<void> {
    await this.#x.q('INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)', [s.tokenHash, s.userId, s.createdAt, s.expiresAt]);
  }

  async getSession(tokenHash: string, now: number): Promise<{ session: SessionRow; user: UserRow } | null> {
    const r = await this.#x.row(`SELECT s.*, ${userColumnsAs('u', 'u_')} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2`, [tokenHash, now]);
    return r ? { session: toSession(r), user: toUser(r, 'u_') } : null;
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.#x.q('DELETE FROM sessions WHERE token_hash = $1', [tokenHash]);
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    return (await this.#x.q('DELETE FROM sessions WHERE expires_at <= $1', [now])).rowCount ?? 0;
  }

  async createApiToken(t: ApiTokenRow): Promise<void> {
    await this.#x.q('INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, last_used_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      t.id,
      t.userId,
      t.name,
      t.tokenHash,
      t.createdAt,
      t.lastUsedAt,
      t.expiresAt,
      t.revokedAt,
    ]);
  }

  async useApiToken(tokenHash: string, now: number): Promise<{ token: ApiTokenRow; user: UserRow } | null> {
    const r = await this.#x.row(
      `WITH used AS (
         UPDATE api_tokens SET last_used_at = $2
         WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
         RETURNING *)
       SELECT t.*, ${userColumnsAs('u', 'u_')} FROM used t JOIN users u ON u.id = t.user_id`,
      [tokenHash, now],
    );
    return r ? { token: toApiToken(r), user: toUser(r, 'u_') } : null;
  }

  async listApiTokens(userId: string): Promise<ApiTokenRow[]> {
    return this.#x.all('SELECT * FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id COLLATE "C"', [userId], toApiToken);
  }

  async revokeApiToken(o: { userId: string; id: string; now: number }): Promise<boolean> {
    return this.#x.changed('UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL', [o.now, o.id, o.userId]);
  }

  async createInvite(i: InviteRow): Promise<void> {
    await this.#x.q('INSERT INTO invites (id, token_hash, created_by, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      i.id,
      i.tokenHash,
      i.createdBy,
      i.createdAt,
      i.expiresAt,
      i.usedAt,
    ]);
  }

  async consumeInvite(tokenHash: string, now: number): Promise<InviteRow | null> {
    return this.#x.one('UPDATE invites SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING *', [now, tokenHash], toInvite);
  }

  async createRoom(room: RoomRow): Promise<boolean> {
    return this.#x.changed('INSERT INTO rooms (room_id, title, owner_id, created_at, language) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (room_id) DO NOTHING', [
      room.roomId,
      room.title,
      room.ownerId,
      room.createdAt,
      room.language ?? null,
    ]);
  }

  async getRoom(roomId: string): Promise<RoomRow | null> {
    return this.#x.one('SELECT room_id, title, owner_id, created_at, language FROM rooms WHERE room_id = $1', [roomId], toRoom);
  }

  async deleteRoom(roomId: string): Promise<void> {
    await this.#db.transaction(async (c) => {
      await c.query('DELETE FROM memberships WHERE room_id = $1', [roomId]);
      await c.query('DELETE FROM share_links WHERE room_id = $1', [roomId]);
      await c.query('DELETE FROM rooms WHERE room_id = $1', [roomId]);
    });
  }

  async listRoomsFor(userId: string): Promise<RoomWithAccess[]> {
    const rows = await this.#x.rows(
      `SELECT r.room_id, r.title, r.owner_id, r.created_at, r.language, m.room_id AS m_room_id, m.user_id, m.role, m.via_link_id, m.created_at AS m_created_at,
              ${userColumnsAs('o', 'o_')}
       FROM rooms r
       LEFT JOIN memberships m ON m.room_id = r.room_id AND m.user_id = $1
       LEFT JOIN users o ON o.id = r.owner_id
       WHERE r.owner_id = $1 OR m.user_id IS NOT NULL
       ORDER BY r.created_at DESC, r.room_id COLLATE "C"`,
      [userId],
    );
    return rows.map((r) => ({
      room: toRoom(r),
      owner: r['o_id'] === null || r['o_id'] === undefined ? null : toUser(r, 'o_'),
      membership: r['m_room_id'] === null || r['owner_id'] === userId ? null : toMembership({ ...r, room_id: r['m_room_id'], created_at: r['m_created_at'] }),
    }));
  }

  async countRoomsOwnedBy(userId: string): Promise<number> {
    return this.#x.count('SELECT count(*) AS n FROM rooms WHERE owner_id = $1', [userId]);
  }

  async storageBytesOwnedBy(userId: string): Promise<number> {
    return this.#x.count('SELECT coalesce(sum(octet_length(u.data)), 0) AS n FROM room_updates u JOIN rooms r ON r.room_id = u.room_id WHERE r.owner_id = $1', [userId]);
  }

  async adoptOwnerlessRooms(o: { userId: string; previousOwners: readonly string[] }): Promise<number> {
    return (await this.#x.q('UPDATE rooms SET owner_id = $1 WHERE owner_id IS NULL OR owner_id = ANY($2::text[])', [o.userId, [...o.previousOwners]])).rowCount ?? 0;
  }

  async putMembership(m: MembershipRow): Promise<void> {
    await this.#x.q(
      `INSERT INTO memberships (room_id, user_id, role, via_link_id, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (room_id, user_id) DO UPDATE SET role = excluded.role, via_link_id = excluded.via_link_id`,
      [m.roomId, m.userId, m.role, m.viaLinkId, m.createdAt],
    );
  }

  async getMembership(roomId: string, userId: string): Promise<MembershipRow | null> {
    return this.#x.one('SELECT * FROM memberships WHERE room_id = $1 AND user_id = $2', [roomId, userId], toMembership);
  }

  async listMembers(roomId: string): Promise<MemberWithUser[]> {
    const rows = await this.#x.rows(`SELECT m.*, ${userColumnsAs('u', 'u_')} FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.room_id = $1 ORDER BY m.created_at, m.user_id COLLATE "C"`, [
      roomId,
    ]);
    return rows.map((r) => ({ membership: toMembership(r), user: toUser(r, 'u_') }));
  }

  async deleteMembership(roomId: string, userId: string): Promise<boolean> {
    return this.#x.changed('DELETE FROM memberships WHERE room_id = $1 AND user_id = $2', [roomId, userId]);
  }

  async createLink(l: LinkRow): Promise<void> {
    await this.#x.q('INSERT INTO share_links (id, room_id, token, role, allow_guests, created_by, created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
      l.id,
      l.roomId,
      l.token,
      l.role,
      l.allowGuests ? 1 : 0,
      l.createdBy,
      l.createdAt,
      l.expiresAt,
      l.revokedAt,
    ]);
  }

  async getLink(id: string): Promise<LinkRow | null> {
    return this.#x.one('SELECT * FROM share_links WHERE id = $1', [id], toLink);
  }

  async findLinkByToken(token: string): Promise<LinkRow | null> {
    return this.#x.one('SELECT * FROM share_links WHERE token = $1', [token], toLink);
  }

  async listLinks(roomId: string): Promise<LinkRow[]> {
    return this.#x.all('SELECT * FROM share_links WHERE room_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id COLLATE "C"', [roomId], toLink);
  }

  async revokeLink(o: { roomId: string; id: string; now: number }): Promise<boolean> {
    return this.#x.changed('UPDATE share_links SET revoked_at = $1 WHERE id = $2 AND room_id = $3 AND revoked_at IS NULL', [o.now, o.id, o.roomId]);
  }

  async membersViaLink(linkId: string): Promise<string[]> {
    return (await this.#x.rows('SELECT user_id FROM memberships WHERE via_link_id = $1', [linkId])).map((r) => r['user_id'] as string);
  }

  async consumeQuota(o: QuotaWindow & { amount: number; limit: number }): Promise<{ ok: boolean; used: number }> {
    const w = [o.key, o.kind, o.windowStart];
    await this.#x.q('INSERT INTO quota_counters (key, kind, window_start, used) VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING', w);
    // The UPDATE locks the row: concurrent consumers (on any gateway) see each other's additions.
    const added = await this.#x.row('UPDATE quota_counters SET used = used + $4 WHERE key = $1 AND kind = $2 AND window_start = $3 AND used + $4 <= $5 RETURNING used', [...w, o.amount, o.limit]);
    if (added) return { ok: true, used: added['used'] as number };
    return { ok: false, used: await this.getQuota(o) };
  }

  async addQuota(o: QuotaWindow & { amount: number }): Promise<number> {
    const r = await this.#x.row(
      `INSERT INTO quota_counters (key, kind, window_start, used) VALUES ($1, $2, $3, $4)
       ON CONFLICT (key, kind, window_start) DO UPDATE SET used = quota_counters.used + excluded.used RETURNING used`,
      [o.key, o.kind, o.windowStart, o.amount],
    );
    return (r?.['used'] as number | undefined) ?? 0;
  }

  async getQuota(o: QuotaWindow): Promise<number> {
    const r = await this.#x.row('SELECT used FROM quota_counters WHERE key = $1 AND kind = $2 AND window_start = $3', [o.key, o.kind, o.windowStart]);
    return (r?.['used'] as number | undefined) ?? 0;
  }

  async pruneQuotas(before: number): Promise<void> {
    await this.#x.q('DELETE FROM quota_counters WHERE window_start < $1', [before]);
  }

  createSubmissions(rows: readonly SubmissionRow[]): Promise<void> {
    return this.#submissions.create(rows);
  }

  getSubmissions(tokens: readonly string[], now: number): Promise<SubmissionRow[]> {
    return this.#submissions.get(tokens, now);
  }

  updateSubmission(o: { token: string; record: string; finishedAt: number | null }): Promise<boolean> {
    return this.#submissions.update(o);
  }

  listUnfinishedSubmissions(): Promise<SubmissionRow[]> {
    return this.#submissions.listUnfinished();
  }

  deleteExpiredSubmissions(now: number): Promise<number> {
    return this.#submissions.deleteExpired(now);
  }
}
