/**
 * Column ↔ field mapping of the gateway stores (SQLite and PostgreSQL share
 * column names; PostgreSQL BIGINTs are read as numbers, flags are 0/1 in both).
 * @module
 */
import { isRuntimeId } from '@codecell/protocol';
import type { ShareableRole } from '@codecell/protocol';
import type { ApiTokenRow, InviteRow, LinkRow, MembershipRow, RoomRow, SessionRow, SubmissionRow, UserRow } from './GatewayStore.js';

/** A row as better-sqlite3 or pg returns it. */
export type Raw = Record<string, unknown>;

const str = (r: Raw, k: string): string => r[k] as string;
const strOrNull = (r: Raw, k: string): string | null => (r[k] ?? null) as string | null;
const num = (r: Raw, k: string): number => r[k] as number;
const numOrNull = (r: Raw, k: string): number | null => (r[k] ?? null) as number | null;

export const USER_COLUMNS = 'id, kind, username, display_name, password_hash, admin, oidc_issuer, oidc_subject, created_at';

export function toUser(r: Raw, prefix = ''): UserRow {
  const k = (name: string): string => `${prefix}${name}`;
  return {
    id: str(r, k('id')),
    kind: str(r, k('kind')) as UserRow['kind'],
    username: strOrNull(r, k('username')),
    displayName: str(r, k('display_name')),
    passwordHash: strOrNull(r, k('password_hash')),
    admin: num(r, k('admin')) === 1,
    oidcIssuer: strOrNull(r, k('oidc_issuer')),
    oidcSubject: strOrNull(r, k('oidc_subject')),
    createdAt: num(r, k('created_at')),
  };
}

/** `u.id AS u_id, ...` for joins. */
export function userColumnsAs(table: string, prefix: string): string {
  return USER_COLUMNS.split(', ')
    .map((c) => `${table}.${c} AS ${prefix}${c}`)
    .join(', ');
}

export function toSession(r: Raw): SessionRow {
  return { tokenHash: str(r, 'token_hash'), userId: str(r, 'user_id'), createdAt: num(r, 'created_at'), expiresAt: num(r, 'expires_at') };
}

export function toApiToken(r: Raw): ApiTokenRow {
  return {
    id: str(r, 'id'),
    userId: str(r, 'user_id'),
    name: str(r, 'name'),
    tokenHash: str(r, 'token_hash'),
    createdAt: num(r, 'created_at'),
    lastUsedAt: numOrNull(r, 'last_used_at'),
    expiresAt: numOrNull(r, 'expires_at'),
    revokedAt: numOrNull(r, 'revoked_at'),
  };
}

export function toInvite(r: Raw): InviteRow {
  return {
    id: str(r, 'id'),
    tokenHash: str(r, 'token_hash'),
    createdBy: str(r, 'created_by'),
    createdAt: num(r, 'created_at'),
    expiresAt: num(r, 'expires_at'),
    usedAt: numOrNull(r, 'used_at'),
  };
}

export function toRoom(r: Raw): RoomRow {
  const language = strOrNull(r, 'language');
  return {
    roomId: str(r, 'room_id'),
    title: str(r, 'title'),
    ownerId: strOrNull(r, 'owner_id'),
    createdAt: num(r, 'created_at'),
    language: language !== null && isRuntimeId(language) ? language : null,
  };
}

export function toMembership(r: Raw): MembershipRow {
  return {
    roomId: str(r, 'room_id'),
    userId: str(r, 'user_id'),
    role: str(r, 'role') as ShareableRole,
    viaLinkId: strOrNull(r, 'via_link_id'),
    createdAt: num(r, 'created_at'),
  };
}

export function toLink(r: Raw): LinkRow {
  return {
    id: str(r, 'id'),
    roomId: str(r, 'room_id'),
    token: str(r, 'token'),
    role: str(r, 'role') as ShareableRole,
    allowGuests: num(r, 'allow_guests') === 1,
    createdBy: str(r, 'created_by'),
    createdAt: num(r, 'created_at'),
    expiresAt: numOrNull(r, 'expires_at'),
    revokedAt: numOrNull(r, 'revoked_at'),
  };
}

export function toSubmission(r: Raw): SubmissionRow {
  return {
    token: str(r, 'token'),
    owner: str(r, 'owner'),
    createdAt: num(r, 'created_at'),
    expiresAt: num(r, 'expires_at'),
    finishedAt: numOrNull(r, 'finished_at'),
    record: str(r, 'record'),
  };
}
