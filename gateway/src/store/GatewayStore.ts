/**
 * The one store of who is who and who may do what (issue 9): accounts,
 * sessions, API tokens, invites, rooms and their owners, memberships, share
 * links and quota counters. Every method is async so that a networked database
 * (PostgreSQL, a later issue) can implement it as it is; SQLite is the embedded
 * default. `storeContract.ts` is the suite every implementation must pass.
 *
 * Secrets are stored hashed (sessions, API tokens, invites: SHA-256 of a
 * 256-bit random token); share link tokens are kept, so owners can copy a link
 * again (they grant what the room's content, in the same database, grants).
 * @module
 */
import type { RuntimeId, ShareableRole } from '@codecell/protocol';

/** An account. Guests are accounts too (`kind: 'guest'`), made when someone joins through a link without signing in. */
export interface UserRow {
  readonly id: string;
  readonly kind: 'user' | 'guest';
  /** Lower-case; null for guests and OIDC accounts without one. Unique. */
  readonly username: string | null;
  readonly displayName: string;
  /** `scrypt$...` (see passwords.ts); null for OIDC accounts and guests. */
  readonly passwordHash: string | null;
  readonly admin: boolean;
  /** OIDC accounts: issuer and subject (unique together). */
  readonly oidcIssuer: string | null;
  readonly oidcSubject: string | null;
  /** Epoch ms. */
  readonly createdAt: number;
}

/** A sign-in (cookie). */
export interface SessionRow {
  readonly tokenHash: string;
  readonly userId: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** An API token for programs (`Authorization: Bearer`). */
export interface ApiTokenRow {
  readonly id: string;
  readonly userId: string;
  readonly name: string;
  readonly tokenHash: string;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
}

/** A single-use sign-up invite. */
export interface InviteRow {
  readonly id: string;
  readonly tokenHash: string;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly usedAt: number | null;
}

/** A registered room. `ownerId` is null for rooms from before hosted mode (admins own those). */
export interface RoomRow {
  readonly roomId: string;
  readonly title: string;
  readonly ownerId: string | null;
  readonly createdAt: number;
  /** The runtime the room was created for (its starter program); null or absent: Python. */
  readonly language?: RuntimeId | null;
}

/** Someone's role in a room other than its owner. */
export interface MembershipRow {
  readonly roomId: string;
  readonly userId: string;
  readonly role: ShareableRole;
  /** The share link this access comes from; null when the owner gave it directly. */
  readonly viaLinkId: string | null;
  readonly createdAt: number;
}

/** A share link. */
export interface LinkRow {
  readonly id: string;
  readonly roomId: string;
  readonly token: string;
  readonly role: ShareableRole;
  readonly allowGuests: boolean;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
}

/** A member with their account, as the people list shows them. */
export interface MemberWithUser {
  readonly membership: MembershipRow;
  readonly user: UserRow;
}

/** A room someone can open, with how they have it. */
export interface RoomWithAccess {
  readonly room: RoomRow;
  readonly owner: UserRow | null;
  /** Null when the caller owns it. */
  readonly membership: MembershipRow | null;
}

/** One quota counter: `kind` in the window that starts at `windowStart` (epoch ms), for `key` (`user:<id>` or `addr:<ip>`). */
export interface QuotaWindow {
  readonly key: string;
  readonly kind: string;
  readonly windowStart: number;
}

/** A Judge0 submission (issue 13). `record` is the compat layer's JSON; the store only keeps it. */
export interface SubmissionRow {
  /** Judge0's token (a UUID). */
  readonly token: string;
  /** Who may read it: `user:<id>` (the local user with AUTH_MODE=none). */
  readonly owner: string;
  readonly createdAt: number;
  /** Deleted after this (JUDGE0_RETENTION_HOURS). */
  readonly expiresAt: number;
  /** Null while queued or running. */
  readonly finishedAt: number | null;
  readonly record: string;
}

/** The store. Errors: `already_exists` (CodeCellError) for a taken username, OIDC subject or room id; anything else is a bug or an outage. */
export interface GatewayStore {
  createUser(user: UserRow): Promise<void>;
  getUser(id: string): Promise<UserRow | null>;
  findUserByUsername(username: string): Promise<UserRow | null>;
  findUserByOidc(issuer: string, subject: string): Promise<UserRow | null>;
  /** Accounts with `admin` (the first admin is made through the setup link). */
  countAdmins(): Promise<number>;

  createSession(session: SessionRow): Promise<void>;
  /** The session and its account, when it exists and has not expired at `now`. */
  getSession(tokenHash: string, now: number): Promise<{ session: SessionRow; user: UserRow } | null>;
  deleteSession(tokenHash: string): Promise<void>;
  /** Deletes sessions expired at `now`; returns how many. */
  deleteExpiredSessions(now: number): Promise<number>;

  createApiToken(token: ApiTokenRow): Promise<void>;
  /** The token and its account when it is neither revoked nor expired at `now`; marks it used. */
  useApiToken(tokenHash: string, now: number): Promise<{ token: ApiTokenRow; user: UserRow } | null>;
  listApiTokens(userId: string): Promise<ApiTokenRow[]>;
  /** False when the user has no such (unrevoked) token. */
  revokeApiToken(o: { userId: string; id: string; now: number }): Promise<boolean>;

  createInvite(invite: InviteRow): Promise<void>;
  /** Marks an unused, unexpired invite used and returns it; null otherwise. Atomic: an invite works once. */
  consumeInvite(tokenHash: string, now: number): Promise<InviteRow | null>;

  /** False (and no change) when the room id is taken. */
  createRoom(room: RoomRow): Promise<boolean>;
  getRoom(roomId: string): Promise<RoomRow | null>;
  /** Deletes the room, its memberships and links (not its Yjs log: RoomStore's). */
  deleteRoom(roomId: string): Promise<void>;
  /** Rooms the user owns or is a member of (memberships through revoked or expired links included: the caller filters). */
  listRoomsFor(userId: string): Promise<RoomWithAccess[]>;
  countRoomsOwnedBy(userId: string): Promise<number>;
  /** Bytes of stored room content (Yjs logs) of the rooms the user owns. */
  storageBytesOwnedBy(userId: string): Promise<number>;
  /** Gives rooms without an owner (from before hosted mode, or AUTH_MODE=none's local user) to `userId`; returns how many. */
  adoptOwnerlessRooms(o: { userId: string; previousOwners: readonly string[] }): Promise<number>;

  /** Adds or replaces the membership of (roomId, userId). */
  putMembership(membership: MembershipRow): Promise<void>;
  getMembership(roomId: string, userId: string): Promise<MembershipRow | null>;
  listMembers(roomId: string): Promise<MemberWithUser[]>;
  /** False when there was none. */
  deleteMembership(roomId: string, userId: string): Promise<boolean>;

  createLink(link: LinkRow): Promise<void>;
  getLink(id: string): Promise<LinkRow | null>;
  findLinkByToken(token: string): Promise<LinkRow | null>;
  /** Links of the room that were not revoked, newest first. */
  listLinks(roomId: string): Promise<LinkRow[]>;
  /** Sets `revokedAt`; false when the room has no such unrevoked link. */
  revokeLink(o: { roomId: string; id: string; now: number }): Promise<boolean>;
  /** Users whose access to the room comes from this link. */
  membersViaLink(linkId: string): Promise<string[]>;

  /**
   * Adds `amount` to the counter unless that would take it past `limit`.
   * Atomic. Returns whether it was added and the counter's value afterwards.
   */
  consumeQuota(o: QuotaWindow & { amount: number; limit: number }): Promise<{ ok: boolean; used: number }>;
  /** Adds `amount` to the counter, with no limit (charging after the fact, e.g. CPU time). */
  addQuota(o: QuotaWindow & { amount: number }): Promise<number>;
  /** The counter's value (0 when never counted). */
  getQuota(o: QuotaWindow): Promise<number>;
  /** Deletes counters of windows that started before `before`. */
  pruneQuotas(before: number): Promise<void>;

  /** Stores new submissions, all or none. `already_exists` when a token is taken. */
  createSubmissions(rows: readonly SubmissionRow[]): Promise<void>;
  /** The submissions with these tokens that have not expired at `now` (in no particular order). */
  getSubmissions(tokens: readonly string[], now: number): Promise<SubmissionRow[]>;
  /** Replaces a submission's record (and `finishedAt`); false when there is none. */
  updateSubmission(o: { token: string; record: string; finishedAt: number | null }): Promise<boolean>;
  /** Submissions not finished yet (after a restart: runs that were lost). */
  listUnfinishedSubmissions(): Promise<SubmissionRow[]>;
  /** Deletes submissions expired at `now`; returns how many. */
  deleteExpiredSubmissions(now: number): Promise<number>;
}
