/**
 * Who may do what in a room (issue 9), decided on the server for every entry
 * point: the owner, members (given a role directly, or through a share link
 * that must still be valid), nobody else. Non-members get the same `not_found`
 * for an existing room as for a missing one, so room ids cannot be probed.
 * With AUTH_MODE=none the local user owns every room.
 * @module
 */
import { CodeCellError, ROOM_PERMISSIONS, roleAllows } from '@codecell/protocol';
import type { AuthMode, RoomAction, RoomRole } from '@codecell/protocol';
import type { Caller } from '../auth/Caller.js';
import { LOCAL_USER } from '../auth/Caller.js';
import type { GatewayHooks } from '../extensions.js';
import type { GatewayStore, LinkRow, MembershipRow, RoomRow } from '../store/GatewayStore.js';

/** Options of {@link RoomAccess}. */
export interface RoomAccessOptions {
  readonly mode: AuthMode;
  readonly store: GatewayStore;
  /** Extensions' `onAuthorize` runs after the role check. */
  readonly hooks: GatewayHooks;
  /** @default Date.now */
  readonly now?: () => number;
}

const WHAT: Record<RoomAction, string> = {
  read: 'open this room',
  run: 'run code, type stdin or stop runs',
  edit: 'edit files',
  share: 'share the room or change who has access',
  delete: 'delete the room',
};

/** Why a link no longer grants anything, or null while it does. */
export function linkProblem(link: LinkRow | null, now: number): string | null {
  if (link === null || link.revokedAt !== null) return 'the share link was revoked by the room\'s owner';
  if (link.expiresAt !== null && link.expiresAt <= now) return `the share link expired at ${new Date(link.expiresAt).toISOString()}`;
  return null;
}

/** Resolves and enforces roles. */
export class RoomAccess {
  readonly #o: RoomAccessOptions;

  constructor(options: RoomAccessOptions) {
    this.#o = options;
  }

  get mode(): AuthMode {
    return this.#o.mode;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /**
   * The caller's role in the room.
   * @throws CodeCellError unauthorized (nobody), not_found (no such room or not a member), link_invalid (access came from a revoked or expired link)
   */
  async roleOf(caller: Caller, roomId: string): Promise<RoomRole> {
    if (this.#o.mode === 'none') return 'owner';
    const p = caller.principal;
    if (p === null) throw new CodeCellError('unauthorized', `sign in (or open a share link) to use room ${roomId}`);
    const room = await this.#o.store.getRoom(roomId);
    if (room === null) throw notFound(roomId);
    if (ownerOf(room, p)) return 'owner';
    const membership = await this.#o.store.getMembership(roomId, p.userId);
    if (membership === null) throw notFound(roomId);
    await this.#checkLink(membership);
    return membership.role;
  }

  /**
   * The caller's role when it allows `action` (then extensions' `onAuthorize`).
   * @throws CodeCellError forbidden when the role is too low, and whatever {@link roleOf} throws
   */
  async require(caller: Caller, roomId: string, action: RoomAction): Promise<RoomRole> {
    const role = await this.roleOf(caller, roomId);
    if (!roleAllows(role, action)) {
      throw new CodeCellError('forbidden', `your role in room ${roomId} is ${role}; to ${WHAT[action]} you need ${ROOM_PERMISSIONS[action]} or above (ask the owner)`);
    }
    await this.#o.hooks.authorize({ caller, roomId, action, role });
    return role;
  }

  async #checkLink(m: MembershipRow): Promise<void> {
    if (m.viaLinkId === null) return;
    const problem = linkProblem(await this.#o.store.getLink(m.viaLinkId), this.#now());
    if (problem !== null) throw new CodeCellError('link_invalid', `your access to room ${m.roomId} ended: ${problem}; ask the owner for a new link`);
  }
}

/** True when `p` owns `room` (admins own rooms from before accounts existed, or made with AUTH_MODE=none). */
export function ownerOf(room: RoomRow, p: { readonly userId: string; readonly admin: boolean }): boolean {
  return room.ownerId === p.userId || ((room.ownerId === null || room.ownerId === LOCAL_USER.userId) && p.admin);
}

function notFound(roomId: string): CodeCellError {
  return new CodeCellError('not_found', `no room ${roomId}, or you have no access to it; ask its owner for a share link`);
}
