/**
 * Sharing a room (issue 9): share links per role (revocable, optional expiry,
 * optionally admitting guests), joining through one, the people list, and the
 * owner changing roles or removing people. Whoever loses access (link revoked,
 * removed, role changed) has their live connections closed with a reason.
 * @module
 */
import { CodeCellError, CollabRejectReason, ROOM_ROLES, SHARE_LINK_PATH, formatCollabReason } from '@codecell/protocol';
import type { CreateLinkInput, LinkInfo, Member, RoomRole, ShareLink, ShareableRole } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { Accounts } from '../auth/Accounts.js';
import type { AuthService } from '../auth/AuthService.js';
import { principalOf } from '../auth/AuthService.js';
import type { Caller } from '../auth/Caller.js';
import { newId, newToken } from '../auth/secrets.js';
import type { GatewayStore, LinkRow, MembershipRow } from '../store/GatewayStore.js';
import type { RoomAccess } from './RoomAccess.js';
import { linkProblem } from './RoomAccess.js';
import type { LiveConnections } from './RoomService.js';

/** Options of {@link SharingService}. */
export interface SharingServiceOptions {
  readonly store: GatewayStore;
  readonly access: RoomAccess;
  readonly accounts: Accounts;
  readonly auth: AuthService;
  readonly live: LiveConnections;
  /** Where links point (PUBLIC_URL, else the listening URL). */
  readonly baseUrl: () => string;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

/** What joining through a link gives: the room and role, and a session cookie for a new guest. */
export interface Redeemed {
  readonly roomId: string;
  readonly role: RoomRole;
  /** `Set-Cookie` of the guest session just made, or null. */
  readonly setCookie: string | null;
}

/** Links, members and roles. */
export class SharingService {
  readonly #o: SharingServiceOptions;

  constructor(options: SharingServiceOptions) {
    this.#o = options;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  async createLink(caller: Caller, input: CreateLinkInput): Promise<ShareLink> {
    await this.#o.access.require(caller, input.roomId, 'share');
    const now = this.#now();
    const link: LinkRow = {
      id: newId(),
      roomId: input.roomId,
      token: newToken(),
      role: input.role,
      allowGuests: input.allowGuests ?? false,
      createdBy: caller.principal?.userId ?? 'local',
      createdAt: now,
      expiresAt: input.expiresInHours === undefined ? null : now + Math.round(input.expiresInHours * 3_600_000),
      revokedAt: null,
    };
    await this.#o.store.createLink(link);
    return this.#toShareLink(link, now);
  }

  async listLinks(caller: Caller, roomId: string): Promise<ShareLink[]> {
    await this.#o.access.require(caller, roomId, 'share');
    const now = this.#now();
    return (await this.#o.store.listLinks(roomId)).map((l) => this.#toShareLink(l, now));
  }

  /** Revokes a link: it admits nobody more, and everyone whose access came from it is out now. */
  async revokeLink(caller: Caller, o: { roomId: string; linkId: string }): Promise<void> {
    await this.#o.access.require(caller, o.roomId, 'share');
    if (!(await this.#o.store.revokeLink({ roomId: o.roomId, id: o.linkId, now: this.#now() }))) {
      throw new CodeCellError('not_found', `room ${o.roomId} has no link ${o.linkId} (or it was revoked already)`);
    }
    const userIds = await this.#o.store.membersViaLink(o.linkId);
    this.#o.live.revoke({ roomId: o.roomId, userIds, reason: formatCollabReason('link_invalid', 'the share link you joined with was revoked by the room\'s owner') });
    this.#o.logger.info('revoked a share link', { roomId: o.roomId, linkId: o.linkId, disconnected: userIds.length });
  }

  /** What a link's page shows before joining. @throws CodeCellError link_invalid */
  async linkInfo(token: string): Promise<LinkInfo> {
    const { link, title } = await this.#validLink(token);
    return { roomId: link.roomId, title, role: link.role, allowGuests: link.allowGuests, expiresAt: link.expiresAt };
  }

  /**
   * Joins a room through a link. Signed-in callers become members with the
   * link's role (unless they already have a higher one); without a session, a
   * link that admits guests makes a guest account named `displayName`.
   */
  async redeemLink(caller: Caller, o: { token: string; displayName?: string | undefined }): Promise<Redeemed> {
    const { link } = await this.#validLink(o.token);
    if (this.#o.access.mode === 'none') return { roomId: link.roomId, role: 'owner', setCookie: null };
    let principal = caller.principal;
    let setCookie: string | null = null;
    if (principal === null) {
      if (!link.allowGuests) throw new CodeCellError('unauthorized', 'this link admits people with an account only: sign in, then open it again');
      if (o.displayName === undefined) throw new CodeCellError('invalid_request', 'to join as a guest, give a displayName (what others will see)');
      principal = await this.#o.accounts.createGuest(o.displayName);
      setCookie = await this.#o.auth.startSession(principal.userId);
    }
    const current = await this.#o.access.roleOf({ ...caller, principal }, link.roomId).catch(() => null);
    if (current !== null && ROOM_ROLES.indexOf(current) >= ROOM_ROLES.indexOf(link.role)) return { roomId: link.roomId, role: current, setCookie };
    await this.#o.store.putMembership({ roomId: link.roomId, userId: principal.userId, role: link.role, viaLinkId: link.id, createdAt: this.#now() });
    return { roomId: link.roomId, role: link.role, setCookie };
  }

  /** The owner first, then members whose access still holds. */
  async members(caller: Caller, roomId: string): Promise<Member[]> {
    await this.#o.access.require(caller, roomId, 'read');
    const room = await this.#o.store.getRoom(roomId);
    const out: Member[] = [];
    const owner = room?.ownerId ? await this.#o.store.getUser(room.ownerId) : null;
    if (owner) out.push({ ...memberOf(principalOf(owner)), role: 'owner', viaLink: null });
    const now = this.#now();
    for (const { membership: m, user } of await this.#o.store.listMembers(roomId)) {
      if (m.viaLinkId !== null && linkProblem(await this.#o.store.getLink(m.viaLinkId), now) !== null) continue;
      out.push({ ...memberOf(principalOf(user)), role: m.role, viaLink: m.viaLinkId });
    }
    return out;
  }

  /** Gives a member another role (now theirs directly, whatever link they came with); they reconnect with it. */
  async setRole(caller: Caller, o: { roomId: string; userId: string; role: ShareableRole }): Promise<void> {
    await this.#o.access.require(caller, o.roomId, 'share');
    const m = await this.#requireMember(o.roomId, o.userId);
    await this.#o.store.putMembership({ ...m, role: o.role, viaLinkId: null });
    // Their connections carry the old rights (e.g. a read-only editor): make them reconnect.
    this.#o.live.revoke({ roomId: o.roomId, userIds: [o.userId], reason: CollabRejectReason.roleChanged });
  }

  /** Removes a member: their access ends and their connections close. */
  async removeMember(caller: Caller, o: { roomId: string; userId: string }): Promise<void> {
    await this.#o.access.require(caller, o.roomId, 'share');
    await this.#requireMember(o.roomId, o.userId);
    await this.#o.store.deleteMembership(o.roomId, o.userId);
    this.#o.live.revoke({ roomId: o.roomId, userIds: [o.userId], reason: formatCollabReason('forbidden', 'the room\'s owner removed you from this room') });
  }

  async #requireMember(roomId: string, userId: string): Promise<MembershipRow> {
    const room = await this.#o.store.getRoom(roomId);
    if (room?.ownerId === userId) throw new CodeCellError('invalid_request', 'that is the owner; the owner\'s role cannot be changed');
    const m = await this.#o.store.getMembership(roomId, userId);
    if (m === null) throw new CodeCellError('not_found', `${userId} is not a member of room ${roomId}; rooms.members lists them`);
    return m;
  }

  async #validLink(token: string): Promise<{ link: LinkRow; title: string }> {
    const link = await this.#o.store.findLinkByToken(token);
    const problem = linkProblem(link, this.#now());
    const room = link ? await this.#o.store.getRoom(link.roomId) : null;
    if (link === null || problem !== null || room === null) {
      throw new CodeCellError('link_invalid', `this share link does not work: ${link === null || room === null ? 'it does not exist (or its room was deleted)' : problem}; ask the owner for a new one`);
    }
    return { link, title: room.title };
  }

  #toShareLink(l: LinkRow, now: number): ShareLink {
    return {
      linkId: l.id,
      roomId: l.roomId,
      role: l.role,
      token: l.token,
      url: `${this.#o.baseUrl()}${SHARE_LINK_PATH}${l.token}`,
      allowGuests: l.allowGuests,
      createdAt: l.createdAt,
      expiresAt: l.expiresAt,
      expired: l.expiresAt !== null && l.expiresAt <= now,
    };
  }
}

function memberOf(p: ReturnType<typeof principalOf>): Omit<Member, 'role' | 'viaLink'> {
  return { userId: p.userId, displayName: p.displayName, username: p.username, guest: p.kind === 'guest' };
}
