/**
 * Hocuspocus extension that checks what clients send before it is applied:
 * room names and protocol version at connect; on every sync message, that the
 * update applies completely (no pending structs or deletions), that it does
 * not touch `runs` (only the gateway writes it, through a direct connection,
 * which no hook sees), that files are text or binary (at most MAX_FILE_BYTES)
 * with valid paths and within MAX_ROOM_FILES, and the document size; and awareness states (AwarenessGuard).
 * @module
 */
import * as Y from 'yjs';
import type {
  Extension,
  afterLoadDocumentPayload,
  beforeHandleAwarenessPayload,
  beforeHandleMessagePayload,
  beforeSyncPayload,
  onConnectPayload,
} from '@hocuspocus/server';
import { COLLAB_PROTOCOL_VERSION, CollabRejectReason, ROOM_DOC, formatBytes, roomIdSchema, workspacePathSchema } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import { AwarenessGuard } from './AwarenessGuard.js';
import { CollabRejection } from './CollabRejection.js';
import { roomFiles } from './roomDoc.js';
import { deletedLiveItems, missingDependency, placeItems } from './updateFacts.js';
import type { DecodedUpdate } from './updateFacts.js';

/** y-protocols sync message types that carry an update. */
const SYNC_STEP_2 = 1;
const SYNC_UPDATE = 2;

/**
 * Why `content` may not be the value of a file in `files`, or null when it may:
 * a `Y.Text` (text, edited together) or a `Uint8Array` (`Y.ContentBinary`:
 * any bytes, replaced whole) of at most `maxFileBytes`. The one place that
 * says what a file is.
 */
export function fileValueProblem(content: Y.Item['content'], maxFileBytes: number): { code: 'invalid_request' | 'files_too_large'; message: string } | null {
  if (content instanceof Y.ContentType && content.type instanceof Y.Text) return null;
  if (content instanceof Y.ContentBinary) {
    if (content.content.byteLength <= maxFileBytes) return null;
    return { code: 'files_too_large', message: `is ${formatBytes(content.content.byteLength)}; the limit for a binary file is ${formatBytes(maxFileBytes)} (MAX_FILE_BYTES)` };
  }
  return { code: 'invalid_request', message: `must be a Y.Text (text) or a Uint8Array (binary) in the "${ROOM_DOC.files}" map` };
}

/** Options of {@link RoomGuard}. */
export interface RoomGuardOptions {
  /** MAX_ROOM_BYTES: largest encoded room document. */
  readonly maxRoomBytes: number;
  /** MAX_ROOM_FILES: most entries in `files`. */
  readonly maxRoomFiles: number;
  /** MAX_FILE_BYTES: largest binary file. */
  readonly maxFileBytes: number;
  readonly logger: Logger;
}

/** Refuses bad rooms, incomplete, oversized or forbidden updates, and bad awareness states. */
export class RoomGuard implements Extension {
  readonly extensionName = 'codecell-room-guard';
  // Check before anything else runs.
  readonly priority = 2000;
  readonly #o: RoomGuardOptions;
  readonly #awareness: AwarenessGuard;
  /**
   * An upper bound of each room's encoded size: exact after load, then plus
   * every update's bytes. Recomputed exactly only when it nears the limit.
   */
  readonly #sizeBound = new WeakMap<Y.Doc, number>();

  constructor(options: RoomGuardOptions) {
    this.#o = options;
    this.#awareness = new AwarenessGuard(options.logger);
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

  /** Drops what an earlier gateway let a room keep pending (it would be compacted to disk again), and starts tracking the room's size. */
  async afterLoadDocument({ document, documentName }: afterLoadDocumentPayload): Promise<void> {
    if (document.store.pendingStructs !== null || document.store.pendingDs !== null) {
      document.store.pendingStructs = null;
      document.store.pendingDs = null;
      this.#o.logger.warn('dropped changes with missing dependencies the room had kept from before', { roomId: documentName });
    }
    this.#sizeBound.set(document, Y.encodeStateAsUpdate(document).byteLength);
    document.on('update', (update: Uint8Array) => this.#sizeBound.set(document, (this.#sizeBound.get(document) ?? 0) + update.byteLength));
  }

  /** Refuses incomplete updates, writes to `runs`, bad files, too many files, or growing the room past MAX_ROOM_BYTES. */
  async beforeSync({ type, payload, document, documentName }: beforeSyncPayload): Promise<void> {
    if (type !== SYNC_STEP_2 && type !== SYNC_UPDATE) return;
    let update: DecodedUpdate;
    try {
      update = Y.decodeUpdate(payload);
    } catch {
      throw new CollabRejection('invalid_request', 'this message does not hold a valid Yjs update');
    }
    const missing = missingDependency(document, update);
    if (missing !== null) {
      this.#o.logger.warn('refused an update with missing dependencies', { roomId: documentName, missing, bytes: payload.byteLength });
      throw new CollabRejection('invalid_request', `this update depends on changes the room does not have (${missing}); reload the room to resync`);
    }
    this.#checkItems(document, update);
    this.#checkSize({ doc: document, roomId: documentName, update: payload });
  }

  /** Notes which clientIDs an awareness message carries (see AwarenessGuard). */
  async beforeHandleMessage({ connection, update }: beforeHandleMessagePayload): Promise<void> {
    this.#awareness.noteMessage(connection, update);
  }

  /** Drops awareness states a connection may not publish, too many at once, or that break the protocol (the rest pass). */
  async beforeHandleAwareness({ states, documentName, connection, document }: beforeHandleAwarenessPayload): Promise<void> {
    if (!connection) return; // the server's own
    const others = new Set(document.awareness.getStates().keys());
    this.#awareness.filter({ connection, states, others, roomId: documentName });
  }

  #checkItems(doc: Y.Doc, update: DecodedUpdate): void {
    const files = roomFiles(doc);
    const added = new Set<string>();
    for (const { item, parent, key } of placeItems(doc, update)) {
      // Parts the room already has are skipped by Yjs: only what is new counts.
      if (item.id.clock + item.length <= Y.getState(doc.store, item.id.client)) continue;
      if (parent === null || !('root' in parent)) continue;
      if (parent.root === ROOM_DOC.runs) throw forbiddenRuns();
      if (parent.root !== ROOM_DOC.files || item.content instanceof Y.ContentDeleted) continue;
      if (key === null) throw new CollabRejection('invalid_request', `"${ROOM_DOC.files}" is a map of path → Y.Text; this change inserts into it as a list`);
      const bad = workspacePathSchema.safeParse(key).error?.issues[0]?.message;
      if (bad !== undefined) throw new CollabRejection('invalid_path', `file "${key.slice(0, 80)}": ${bad}`);
      const problem = fileValueProblem(item.content, this.#o.maxFileBytes);
      if (problem !== null) throw new CollabRejection(problem.code, `file "${key}" ${problem.message}`);
      if (!files.has(key)) added.add(key);
    }
    if (added.size > 0 && files.size + added.size > this.#o.maxRoomFiles) {
      throw new CollabRejection(
        'too_many_files',
        `the room has ${files.size} files and this change adds ${added.size}; the limit is ${this.#o.maxRoomFiles} (MAX_ROOM_FILES)`,
      );
    }
    const runs = doc.share.get(ROOM_DOC.runs);
    if (runs && deletedLiveItems(doc, update).some((item) => item.parent === runs)) throw forbiddenRuns();
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
      `this change would make room ${roomId} ${formatBytes(exact + added)}; the limit is ${formatBytes(max)} (MAX_ROOM_BYTES). Delete something or use another room`,
    );
  }
}

function forbiddenRuns(): CollabRejection {
  return new CollabRejection('forbidden', `only the gateway writes "${ROOM_DOC.runs}" (the room's run records); clients may read it, not change it`);
}
