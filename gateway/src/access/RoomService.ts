/**
 * The room procedures (issue 9): create (the caller owns it), get (members
 * only), "My rooms", delete (owner). With AUTH_MODE=none the local user owns
 * every room and `getRoom` answers for any room id, as before accounts existed.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { CodeCellError, formatCollabReason } from '@codecell/protocol';
import type { CreateRoomInput, CreateRoomOutput, GetRoomOutput, RoomRole, RoomSummary } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import { requireUser } from '../auth/AuthService.js';
import type { Caller } from '../auth/Caller.js';
import { LOCAL_USER } from '../auth/Caller.js';
import type { CollabService } from '../collab/CollabService.js';
import { DEFAULT_ROOM_TITLE } from '../collab/roomDoc.js';
import type { GatewayHooks } from '../extensions.js';
import type { GatewayStore } from '../store/GatewayStore.js';
import type { RoomAccess } from './RoomAccess.js';
import { linkProblem } from './RoomAccess.js';

/** Ends the live connections of people whose access changed (collab sockets, run streams). */
export interface LiveConnections {
  /** Closes what `userIds` (everyone when null) have open in the room, telling them `reason` (`"<code>: <message>"` or a named reason). */
  revoke(o: { roomId: string; userIds: readonly string[] | null; reason: string }): void;
}

/** Options of {@link RoomService}. */
export interface RoomServiceOptions {
  readonly store: GatewayStore;
  readonly access: RoomAccess;
  readonly collab: CollabService;
  readonly hooks: GatewayHooks;
  /** Stops the runs of a room being deleted. */
  readonly stopRoomRuns: (roomId: string) => Promise<void>;
  readonly live: LiveConnections;
  readonly logger: Logger;
  /** Makes room ids. @default 12 random base64url characters */
  readonly newRoomId?: () => string;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Rooms: create, get, list, delete. */
export class RoomService {
  readonly #o: RoomServiceOptions;

  constructor(options: RoomServiceOptions) {
    this.#o = options;
  }

  /**
   * Creates a room owned by the caller, seeded with the starter program (of
   * `input.language`: its hello-world template; else the Python starter). With
   * an explicit `roomId` it is idempotent for people who can open that room
   * (`created: false`); for others the id is taken (`already_exists`).
   */
  async createRoom(caller: Caller, input: CreateRoomInput): Promise<CreateRoomOutput> {
    const hosted = this.#o.access.mode !== 'none';
    const owner = hosted ? requireUser(caller, 'create rooms') : LOCAL_USER;
    const roomId = input.roomId ?? (this.#o.newRoomId ?? defaultRoomId)();
    let registered = await this.#o.store.getRoom(roomId);
    if (registered !== null) {
      if (hosted) await this.#canOpenOrTaken(caller, roomId);
      await this.#o.collab.seed(registered);
      return { roomId, created: false };
    }
    if (hosted) await this.#o.hooks.beforeCreateRoom({ caller });
    const room = { roomId, title: input.title ?? DEFAULT_ROOM_TITLE, ownerId: owner.userId, createdAt: (this.#o.now ?? Date.now)(), language: input.language ?? null };
    const created = await this.#o.store.createRoom(room);
    registered = created ? room : await this.#o.store.getRoom(roomId);
    if (!created && hosted && registered?.ownerId !== owner.userId) throw new CodeCellError('already_exists', `the room id ${roomId} is taken; choose another`);
    await this.#o.collab.seed(registered ?? room);
    if (created) this.#o.logger.info('created room', { roomId, ownerId: owner.userId, language: room.language ?? 'py' });
    return { roomId, created };
  }

  /** What a member knows of a room without joining it, with their role. */
  async getRoom(caller: Caller, roomId: string): Promise<GetRoomOutput> {
    if (this.#o.access.mode === 'none') {
      const registered = await this.#o.store.getRoom(roomId);
      const { hasContent, ...summary } = await this.#o.collab.summary(roomId);
      const exists = registered !== null || hasContent;
      if (!hasContent) {
        return { exists, title: registered?.title ?? null, files: summary.files, entry: summary.entry, createdAt: registered?.createdAt ?? null, role: exists ? 'owner' : null, limits: this.#o.collab.limits };
      }
      return { exists, ...summary, role: 'owner', limits: this.#o.collab.limits };
    }
    const role = await this.#o.access.require(caller, roomId, 'read');
    const registered = await this.#o.store.getRoom(roomId);
    const { hasContent: _, ...summary } = await this.#o.collab.summary(roomId);
    return { exists: true, ...summary, title: summary.title ?? registered?.title ?? null, createdAt: summary.createdAt ?? registered?.createdAt ?? null, role, limits: this.#o.collab.limits };
  }

  /** Passes when the caller can open the room; else its id is simply taken. */
  async #canOpenOrTaken(caller: Caller, roomId: string): Promise<void> {
    try {
      await this.#o.access.roleOf(caller, roomId);
    } catch (err) {
      if (err instanceof CodeCellError && err.code === 'unauthorized') throw err;
      throw new CodeCellError('already_exists', `the room id ${roomId} is taken; choose another (or ask its owner for a share link)`, { cause: err });
    }
  }

  /** "My rooms": rooms the caller owns or joined (through links that still work), newest first. */
  async mine(caller: Caller): Promise<RoomSummary[]> {
    const p = this.#o.access.mode === 'none' ? LOCAL_USER : caller.principal;
    if (p === null) throw new CodeCellError('unauthorized', 'sign in to see your rooms');
    const now = (this.#o.now ?? Date.now)();
    const out: RoomSummary[] = [];
    for (const { room, owner, membership } of await this.#o.store.listRoomsFor(p.userId)) {
      let role: RoomRole = 'owner';
      if (membership !== null) {
        if (membership.viaLinkId !== null && linkProblem(await this.#o.store.getLink(membership.viaLinkId), now) !== null) continue;
        role = membership.role;
      }
      out.push({ roomId: room.roomId, title: room.title, role, owner: owner ? { userId: owner.id, displayName: owner.displayName } : null, createdAt: room.createdAt });
    }
    return out;
  }

  /** Deletes a room (owner): its runs are stopped, everyone in it is disconnected, its content and sharing are gone. */
  async deleteRoom(caller: Caller, roomId: string): Promise<void> {
    await this.#o.access.require(caller, roomId, 'delete');
    await this.#o.stopRoomRuns(roomId);
    const reason = formatCollabReason('not_found', `room ${roomId} was deleted by its owner`);
    this.#o.live.revoke({ roomId, userIds: null, reason });
    await this.#o.collab.deleteRoom(roomId, reason);
    await this.#o.store.deleteRoom(roomId);
    this.#o.logger.info('deleted room', { roomId, by: caller.principal?.userId });
  }
}

function defaultRoomId(): string {
  return randomBytes(9).toString('base64url');
}
