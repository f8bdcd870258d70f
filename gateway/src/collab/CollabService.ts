/**
 * The gateway's collaboration core: one Hocuspocus instance serving rooms (a
 * Yjs document per room, named by its roomId) from a {@link RoomLog} (SQLite,
 * or PostgreSQL shared by a fleet; with `redis`, Hocuspocus's Redis extension
 * joins this gateway's rooms with the same rooms on other gateways), seeding and
 * summaries of rooms, deletion, and the run records written into rooms.
 * Who may open a room is decided by the injected extensions (CollabAccess).
 * Transport-neutral: the WebSocket adapter (CollabServer) hands it sockets.
 * @module
 */
import { Hocuspocus } from '@hocuspocus/server';
import type { Extension, WebSocketLike } from '@hocuspocus/server';
import * as Y from 'yjs';
import type { GetRoomOutput } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { OnRunFile, OnRunUpdate } from '../runs/types.js';
import type { CollabContext } from './CollabAccess.js';
import { RoomGuard } from './RoomGuard.js';
import type { RoomLog } from './RoomLog.js';
import { RunRecorder } from './RunRecorder.js';
import { RoomPersistence } from './RoomPersistence.js';
import type { SeedInfo } from './roomDoc.js';
import { isRoomEmpty, roomFileBytes, seedRoom, summarizeRoom } from './roomDoc.js';
import type { FileBytes } from './roomDoc.js';

/** Wait after the last change before Hocuspocus calls onStoreDocument (which only compacts; changes are logged at once). */
export const COLLAB_STORE_DEBOUNCE_MS = 2_000;
/** Longest a busy room goes without onStoreDocument. */
export const COLLAB_STORE_MAX_DEBOUNCE_MS = 10_000;
/** Hocuspocus drops a connection that sent nothing for this long (providers send awareness every 15 s). */
export const COLLAB_IDLE_TIMEOUT_MS = 60_000;
/** How long shutdown waits for rooms to unload before compacting what is left itself. */
export const COLLAB_UNLOAD_TIMEOUT_MS = 5_000;

/** What a room's document says, for `getRoom` (`hasContent`: anything was ever stored in it). */
export type RoomSummary = Omit<GetRoomOutput, 'exists' | 'role'> & { readonly hasContent: boolean };

/** Options of {@link CollabService}. */
export interface CollabServiceOptions {
  /** The rooms' Yjs logs (COLLAB_DB, or DATABASE_URL). Not closed by the service. */
  readonly log: RoomLog;
  /** True for runs that are still going (on any gateway). @default the runs this gateway records */
  readonly isLiveRun?: (jobId: string) => Promise<boolean>;
  /** Joins rooms across gateways (fleet mode): Hocuspocus's Redis extension, made by the caller. */
  readonly redis?: Extension;
  /** The registered room (title, creation time) to seed a loading room with; null when it is not registered. */
  readonly findRoom: (roomId: string) => Promise<SeedInfo | null>;
  /** Hocuspocus extensions of whoever builds the server (access, quotas…), run after the room guard and persistence. */
  readonly extensions?: readonly Extension[];
  /** MAX_ROOM_BYTES */
  readonly maxRoomBytes: number;
  /** MAX_ROOM_FILES */
  readonly maxRoomFiles: number;
  /** MAX_FILE_BYTES */
  readonly maxFileBytes: number;
  /** Asked before files a run wrote go into a room (the storage quota); throws a CodeCellError to refuse. */
  readonly beforeRoomWrite?: ((o: { readonly roomId: string; readonly bytes: number }) => Promise<void>) | undefined;
  readonly logger: Logger;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** What the WebSocket adapter drives for one socket (a Hocuspocus ClientConnection). */
export interface CollabConnection {
  handleMessage(data: Uint8Array): void;
  handleClose(event?: { code: number; reason: string }): void;
}

/** Rooms: live documents, persistence, seeding, summaries, deletion and run records. */
export class CollabService {
  readonly log: RoomLog;
  readonly #o: CollabServiceOptions;
  readonly #hocuspocus: Hocuspocus;
  readonly #persistence: RoomPersistence;
  readonly #recorder: RunRecorder;
  #closing: Promise<void> | undefined;

  constructor(options: CollabServiceOptions) {
    this.#o = options;
    this.log = options.log;
    const { logger } = options;
    this.#recorder = new RunRecorder({
      openRoom: (roomId) => this.#hocuspocus.openDirectConnection(roomId),
      limits: this.limits,
      beforeWrite: options.beforeRoomWrite,
      logger,
    });
    this.#persistence = new RoomPersistence({
      log: this.log,
      logger,
      isLiveRun: async (jobId) => this.#recorder.isLive(jobId) || ((await options.isLiveRun?.(jobId)) ?? false),
      findRoom: options.findRoom,
      ...(options.now ? { now: options.now } : {}),
    });
    this.#hocuspocus = new Hocuspocus({
      name: 'codecell-gateway',
      quiet: true,
      timeout: COLLAB_IDLE_TIMEOUT_MS,
      debounce: COLLAB_STORE_DEBOUNCE_MS,
      maxDebounce: COLLAB_STORE_MAX_DEBOUNCE_MS,
      unloadImmediately: true,
      extensions: [
        new RoomGuard({ maxRoomBytes: options.maxRoomBytes, maxRoomFiles: options.maxRoomFiles, maxFileBytes: options.maxFileBytes, logger }),
        this.#persistence,
        ...(options.redis ? [options.redis] : []),
        ...(options.extensions ?? []),
        this.#persistence.updateLogger,
      ],
    });
  }

  /** The run core's hook: records runs of rooms in their documents. */
  get onRunUpdate(): OnRunUpdate {
    return this.#recorder.onRunUpdate;
  }

  /** The run core's hook: puts files runs wrote into their rooms. */
  get onRunFile(): OnRunFile {
    return this.#recorder.onRunFile;
  }

  /** Told when a terminal session of a room starts and ends (its files go into the room meanwhile). */
  get onTerminal(): RunRecorder['onTerminal'] {
    return this.#recorder.onTerminal;
  }

  /** The room caps pages are told (`getRoom`), so they can refuse an upload before sending it. */
  get limits(): NonNullable<GetRoomOutput['limits']> {
    return { maxFileBytes: this.#o.maxFileBytes, maxRoomBytes: this.#o.maxRoomBytes, maxRoomFiles: this.#o.maxRoomFiles };
  }

  /** Rooms in memory (with a client or a run in progress). */
  get loadedRooms(): number {
    return this.#hocuspocus.getDocumentsCount();
  }

  /** The live document of a loaded room (tests and diagnostics). */
  loadedDocument(roomId: string): Y.Doc | undefined {
    return this.#hocuspocus.documents.get(roomId);
  }

  /** Serves one accepted socket; the adapter forwards its messages and close. `context` carries the caller (CollabAccess). */
  handleConnection(socket: WebSocketLike, request: Request, context: CollabContext): CollabConnection {
    return this.#hocuspocus.handleConnection(socket, request, context);
  }

  /**
   * Gives a registered room its starter program and metadata (idempotent;
   * loading a registered room seeds it too, this covers one already loaded).
   */
  async seed(room: SeedInfo & { readonly roomId: string }): Promise<void> {
    this.#persistence.restore(room.roomId);
    const conn = await this.#hocuspocus.openDirectConnection(room.roomId);
    try {
      await conn.transact((doc) => seedRoom(doc, room));
    } finally {
      await conn.disconnect();
    }
  }

  /** Open collab connections (every room). */
  get connectionCount(): number {
    return this.#hocuspocus.getConnectionsCount();
  }

  /** What the room's document holds, without loading it into Hocuspocus. */
  summary(roomId: string): Promise<RoomSummary> {
    return this.#read(roomId, (doc) => (doc ? { hasContent: !isRoomEmpty(doc), ...summarizeRoom(doc) } : { hasContent: false, title: null, files: [], entry: null, createdAt: null }));
  }

  /** The room's files as bytes (text as UTF-8), sorted by path, without loading it into Hocuspocus; empty for a room never stored. */
  fileBytes(roomId: string): Promise<FileBytes[]> {
    return this.#read(roomId, (doc) => (doc ? roomFileBytes(doc) : []));
  }

  /** Runs `fn` on the live document, or on a scratch copy of the stored one (null when nothing was ever stored). */
  async #read<T>(roomId: string, fn: (doc: Y.Doc | null) => T): Promise<T> {
    const live = this.#hocuspocus.documents.get(roomId);
    if (live) return fn(live);
    const updates = await this.log.loadUpdates(roomId);
    if (updates.length === 0) return fn(null);
    const doc = new Y.Doc();
    try {
      Y.applyUpdate(doc, Y.mergeUpdates(updates));
      return fn(doc);
    } finally {
      doc.destroy();
    }
  }

  /**
   * Closes the document connections of the room whose caller matches (all when
   * `userIds` is null) with `reason` (`"<code>: <message>"` or a named reason).
   * Returns how many it closed.
   */
  disconnect(o: { roomId: string; userIds: ReadonlySet<string> | null; reason: string }): number {
    const doc = this.#hocuspocus.documents.get(o.roomId);
    if (!doc) return 0;
    let closed = 0;
    for (const conn of doc.getConnections()) {
      const userId = (conn.context as CollabContext | undefined)?.caller.principal?.userId;
      if (o.userIds !== null && (userId === undefined || !o.userIds.has(userId))) continue;
      conn.close({ code: 4403, reason: o.reason });
      closed++;
    }
    return closed;
  }

  /**
   * Deletes a room's content: closes every connection with `reason`, waits for
   * the document to unload (bounded) and drops its log. Writes that still
   * arrive for it (a run record) are not stored.
   */
  async deleteRoom(roomId: string, reason: string): Promise<void> {
    this.#persistence.forget(roomId);
    this.disconnect({ roomId, userIds: null, reason });
    const deadline = Date.now() + COLLAB_UNLOAD_TIMEOUT_MS;
    while (this.#hocuspocus.documents.has(roomId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await this.#persistence.flush();
    await this.log.deleteLog(roomId);
  }

  /**
   * Records the last run updates, lets rooms unload (compacting them), then
   * closes SQLite. Call after the sockets were closed and the runs ended.
   * Safe to call twice.
   */
  dispose(): Promise<void> {
    return (this.#closing ??= (async () => {
      await this.#recorder.dispose();
      this.#hocuspocus.closeConnections();
      this.#hocuspocus.flushPendingStores();
      const deadline = Date.now() + COLLAB_UNLOAD_TIMEOUT_MS;
      while (this.#hocuspocus.getDocumentsCount() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      // Everything is already in the log (or on its way); this only leaves it compact.
      await this.#persistence.compactAll(this.#hocuspocus.documents);
      // Extensions let go of what they hold (the Redis extension its connections), bounded: Redis may be away.
      let timer: NodeJS.Timeout | undefined;
      const destroyed = this.#hocuspocus.hooks('onDestroy', { instance: this.#hocuspocus }).catch((err: unknown) => this.#o.logger.warn('a collab extension failed to stop', { error: String(err) }));
      await Promise.race([destroyed, new Promise((resolve) => (timer = setTimeout(resolve, COLLAB_UNLOAD_TIMEOUT_MS)))]);
      clearTimeout(timer);
    })());
  }
}
