/**
 * Hocuspocus extension that checks what clients send before it is applied:
 * room names and protocol version at connect, document size, file count and
 * file paths on every sync message, and the shape of awareness states.
 * @module
 */
import * as Y from 'yjs';
import type { Extension, afterLoadDocumentPayload, beforeHandleAwarenessPayload, beforeSyncPayload, onConnectPayload } from '@hocuspocus/server';
import {
  COLLAB_PROTOCOL_VERSION,
  CollabRejectReason,
  MAX_AWARENESS_STATE_BYTES,
  ROOM_DOC,
  awarenessStateSchema,
  roomIdSchema,
  workspacePathSchema,
} from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import { CollabRejection } from './CollabRejection.js';
import { roomFiles } from './roomDoc.js';

/** y-protocols sync message types that carry an update. */
const SYNC_STEP_2 = 1;
const SYNC_UPDATE = 2;

/** Options of {@link RoomGuard}. */
export interface RoomGuardOptions {
  /** MAX_ROOM_BYTES: largest encoded room document. */
  readonly maxRoomBytes: number;
  /** MAX_ROOM_FILES: most entries in `files`. */
  readonly maxRoomFiles: number;
  readonly logger: Logger;
}

/** Refuses bad rooms, oversized or malformed updates, and bad awareness states. */
export class RoomGuard implements Extension {
  readonly extensionName = 'codecell-room-guard';
  // Check before anything else runs.
  readonly priority = 2000;
  readonly #o: RoomGuardOptions;
  /**
   * An upper bound of each room's encoded size: exact after load, then plus
   * every update's bytes. Recomputed exactly only when it nears the limit.
   */
  readonly #sizeBound = new WeakMap<Y.Doc, number>();

  constructor(options: RoomGuardOptions) {
    this.#o = options;
  }

  /** Refuses invalid room names and other protocol versions (sent as `?protocolVersion=`). */
  async onConnect({ documentName, requestParameters }: onConnectPayload): Promise<void> {
    if (!roomIdSchema.safeParse(documentName).success) {
      const shown = documentName.length > 40 ? `${documentName.slice(0, 40)}…` : documentName;
      throw new CollabRejection('invalid_request', `room "${shown}" is not a valid roomId; use 1-64 of [A-Za-z0-9_-]`);
    }
    const raw = requestParameters.get('protocolVersion');
    if (raw === null) return;
    const version = Number(raw);
    if (version === COLLAB_PROTOCOL_VERSION) return;
    const tooOld = !Number.isInteger(version) || version < COLLAB_PROTOCOL_VERSION;
    throw new CollabRejection('invalid_request', `collab protocol ${raw} is not supported; this gateway speaks ${COLLAB_PROTOCOL_VERSION}`, {
      reason: tooOld ? CollabRejectReason.clientTooOld : CollabRejectReason.clientTooNew,
    });
  }

  /** Starts tracking the room's size. */
  async afterLoadDocument({ document }: afterLoadDocumentPayload): Promise<void> {
    this.#sizeBound.set(document, Y.encodeStateAsUpdate(document).byteLength);
    document.on('update', (update: Uint8Array) => this.#sizeBound.set(document, (this.#sizeBound.get(document) ?? 0) + update.byteLength));
  }

  /** Refuses updates that add bad files, too many files, or grow the room past MAX_ROOM_BYTES. */
  async beforeSync({ type, payload, document, documentName }: beforeSyncPayload): Promise<void> {
    if (type !== SYNC_STEP_2 && type !== SYNC_UPDATE) return;
    this.#checkFiles(document, payload);
    this.#checkSize({ doc: document, roomId: documentName, update: payload });
  }

  /** Drops awareness states that do not match the protocol or are too large (the rest pass). */
  async beforeHandleAwareness({ states, documentName }: beforeHandleAwarenessPayload): Promise<void> {
    for (const [clientId, state] of states) {
      const bytes = Buffer.byteLength(JSON.stringify(state));
      const problem =
        bytes > MAX_AWARENESS_STATE_BYTES
          ? `${bytes} bytes; the limit is ${MAX_AWARENESS_STATE_BYTES}`
          : awarenessStateSchema.safeParse(state).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      if (problem === undefined) continue;
      states.delete(clientId);
      this.#o.logger.debug('dropped an awareness state', { roomId: documentName, clientId, problem });
    }
  }

  #checkFiles(doc: Y.Doc, update: Uint8Array): void {
    const files = roomFiles(doc);
    const added = new Set<string>();
    for (const struct of Y.decodeUpdate(update).structs) {
      // A new key of the root `files` map carries its parent's name (decodeUpdate leaves
      // it a string, despite the type) and the key; changes to existing keys reference
      // their predecessor instead and add no file.
      if (!(struct instanceof Y.Item) || (struct.parent as unknown) !== ROOM_DOC.files || struct.parentSub === null) continue;
      const path = struct.parentSub;
      const bad = workspacePathSchema.safeParse(path).error?.issues[0]?.message;
      if (bad !== undefined) throw new CollabRejection('invalid_path', `file "${path.slice(0, 80)}": ${bad}`);
      if (!(struct.content instanceof Y.ContentType) || !(struct.content.type instanceof Y.Text)) {
        throw new CollabRejection('invalid_request', `file "${path}" must be a Y.Text in the "${ROOM_DOC.files}" map`);
      }
      if (!files.has(path)) added.add(path);
    }
    if (added.size > 0 && files.size + added.size > this.#o.maxRoomFiles) {
      throw new CollabRejection(
        'too_many_files',
        `the room has ${files.size} files and this change adds ${added.size}; the limit is ${this.#o.maxRoomFiles} (MAX_ROOM_FILES)`,
      );
    }
  }

  #checkSize({ doc, roomId, update }: { doc: Y.Doc; roomId: string; update: Uint8Array }): void {
    const max = this.#o.maxRoomBytes;
    if ((this.#sizeBound.get(doc) ?? 0) + update.byteLength <= max) return;
    // Near the limit: measure exactly, and count only what the update adds.
    const exact = Y.encodeStateAsUpdate(doc).byteLength;
    this.#sizeBound.set(doc, exact);
    const added = Y.diffUpdate(update, Y.encodeStateVector(doc)).byteLength;
    if (exact + added <= max) return;
    this.#o.logger.warn('refused an update that would make a room too large', { roomId, bytes: exact, adding: added, maxRoomBytes: max });
    throw new CollabRejection(
      'payload_too_large',
      `this change would make room ${roomId} ${fmtBytes(exact + added)}; the limit is ${fmtBytes(max)} (MAX_ROOM_BYTES). Delete something or use another room`,
    );
  }
}

function fmtBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}
