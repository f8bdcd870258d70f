/**
 * The gateway's collaboration core: one Hocuspocus instance serving rooms (a
 * Yjs document per room, named by its roomId) from SQLite, `createRoom` /
 * `getRoom`, and the run records written into rooms. Transport-neutral: the
 * WebSocket adapter (CollabServer) hands it sockets.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { Hocuspocus } from '@hocuspocus/server';
import type { WebSocketLike } from '@hocuspocus/server';
import * as Y from 'yjs';
import type { CreateRoomInput, CreateRoomOutput, GetRoomInput, GetRoomOutput } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { OnRunUpdate } from '../runs/types.js';
import { RoomGuard } from './RoomGuard.js';
import { RoomStore } from './RoomStore.js';
import { RunRecorder } from './RunRecorder.js';
import { SqlitePersistence } from './SqlitePersistence.js';
import { DEFAULT_ROOM_TITLE, isRoomEmpty, seedRoom, summarizeRoom } from './roomDoc.js';

/** Wait after the last change before Hocuspocus calls onStoreDocument (which only compacts; changes are logged at once). */
export const COLLAB_STORE_DEBOUNCE_MS = 2_000;
/** Longest a busy room goes without onStoreDocument. */
export const COLLAB_STORE_MAX_DEBOUNCE_MS = 10_000;
/** Hocuspocus drops a connection that sent nothing for this long (providers send awareness every 15 s). */
export const COLLAB_IDLE_TIMEOUT_MS = 60_000;
/** How long shutdown waits for rooms to unload before compacting what is left itself. */
export const COLLAB_UNLOAD_TIMEOUT_MS = 5_000;

/** Options of {@link CollabService}. */
export interface CollabServiceOptions {
  /** COLLAB_DB: SQLite file (created with its directory) or `:memory:`. */
  readonly dbPath: string;
  /** MAX_ROOM_BYTES */
  readonly maxRoomBytes: number;
  /** MAX_ROOM_FILES */
  readonly maxRoomFiles: number;
  readonly logger: Logger;
  /** Makes room ids. @default 12 random base64url characters */
  readonly newRoomId?: () => string;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** What the WebSocket adapter drives for one socket (a Hocuspocus ClientConnection). */
export interface CollabConnection {
  handleMessage(data: Uint8Array): void;
  handleClose(event?: { code: number; reason: string }): void;
}

/** Rooms: live documents, persistence, createRoom/getRoom and run records. */
export class CollabService {
  readonly store: RoomStore;
  readonly #o: CollabServiceOptions;
  readonly #hocuspocus: Hocuspocus;
  readonly #persistence: SqlitePersistence;
  readonly #recorder: RunRecorder;
  #closing: Promise<void> | undefined;

  constructor(options: CollabServiceOptions) {
    this.#o = options;
    this.store = new RoomStore(options.dbPath);
    const { logger } = options;
    this.#recorder = new RunRecorder({ openRoom: (roomId) => this.#hocuspocus.openDirectConnection(roomId), logger });
    this.#persistence = new SqlitePersistence({
      store: this.store,
      logger,
      isLiveRun: (jobId) => this.#recorder.isLive(jobId),
      ...(options.now ? { now: options.now } : {}),
    });
    this.#hocuspocus = new Hocuspocus({
      name: 'codecell-gateway',
      quiet: true,
      timeout: COLLAB_IDLE_TIMEOUT_MS,
      debounce: COLLAB_STORE_DEBOUNCE_MS,
      maxDebounce: COLLAB_STORE_MAX_DEBOUNCE_MS,
      unloadImmediately: true,
      extensions: [new RoomGuard({ maxRoomBytes: options.maxRoomBytes, maxRoomFiles: options.maxRoomFiles, logger }), this.#persistence],
    });
  }

  /** The run core's hook: records runs of rooms in their documents. */
  get onRunUpdate(): OnRunUpdate {
    return this.#recorder.onRunUpdate;
  }

  /** Rooms in memory (with a client or a run in progress). */
  get loadedRooms(): number {
    return this.#hocuspocus.getDocumentsCount();
  }

  /** The live document of a loaded room (tests and diagnostics). */
  loadedDocument(roomId: string): Y.Doc | undefined {
    return this.#hocuspocus.documents.get(roomId);
  }

  /** Serves one accepted socket; the adapter forwards its messages and close. */
  handleConnection(socket: WebSocketLike, request: Request): CollabConnection {
    return this.#hocuspocus.handleConnection(socket, request);
  }

  /**
   * Creates a room with the starter program and returns its id. With an
   * explicit `roomId` it is idempotent: an existing room is left as it is
   * (`created: false`), a room that only has client content gets its metadata.
   */
  async createRoom(input: CreateRoomInput): Promise<CreateRoomOutput> {
    const roomId = input.roomId ?? (this.#o.newRoomId ?? defaultRoomId)();
    const room = { roomId, title: input.title ?? DEFAULT_ROOM_TITLE, createdAt: (this.#o.now ?? Date.now)() };
    const created = this.store.registerRoom(room);
    const registered = this.store.getRoom(roomId) ?? room;
    // Loading seeds a registered room; seeding again covers a room that was already loaded.
    const conn = await this.#hocuspocus.openDirectConnection(roomId);
    try {
      await conn.transact((doc) => seedRoom(doc, registered));
    } finally {
      await conn.disconnect();
    }
    if (created) this.#o.logger.info('created room', { roomId });
    return { roomId, created };
  }

  /** What is known of a room without joining it. Never loads it into Hocuspocus. */
  getRoom({ roomId }: GetRoomInput): GetRoomOutput {
    const registered = this.store.getRoom(roomId);
    const live = this.#hocuspocus.documents.get(roomId);
    if (live) return { exists: registered !== null || !isRoomEmpty(live), ...summarizeRoom(live) };
    const updates = this.store.loadUpdates(roomId);
    if (updates.length === 0) {
      return { exists: registered !== null, title: registered?.title ?? null, files: [], entry: null, createdAt: registered?.createdAt ?? null };
    }
    const doc = new Y.Doc();
    try {
      Y.applyUpdate(doc, Y.mergeUpdates(updates));
      return { exists: true, ...summarizeRoom(doc) };
    } finally {
      doc.destroy();
    }
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
      // Everything is already in the log; this only leaves the file compact.
      this.#persistence.compactAll(this.#hocuspocus.documents);
      this.store.close();
    })());
  }
}

function defaultRoomId(): string {
  return randomBytes(9).toString('base64url');
}
