/**
 * Hocuspocus extension that keeps rooms in a {@link RoomStore}. Every update of
 * a loaded room is appended to SQLite synchronously from the document's
 * `update` event, which Yjs fires inside `applyUpdate`, before Hocuspocus sends
 * the client its sync acknowledgement: an acknowledged change is on disk.
 * Hocuspocus's debounced `onStoreDocument` only compacts the log.
 * @module
 */
import * as Y from 'yjs';
import type {
  Extension,
  afterUnloadDocumentPayload,
  beforeUnloadDocumentPayload,
  onLoadDocumentPayload,
  onStoreDocumentPayload,
} from '@hocuspocus/server';
import type { Logger } from '@codecell/server-kit';
import type { RoomStore } from './RoomStore.js';
import { seedRoom, settleStaleRuns } from './roomDoc.js';
import type { SeedInfo } from './roomDoc.js';

/** Log entries after which a store compacts the room (merges its log into one update). */
export const COMPACT_AFTER_UPDATES = 500;


/** Options of {@link SqlitePersistence}. */
export interface SqlitePersistenceOptions {
  readonly store: RoomStore;
  readonly logger: Logger;
  /** The registered room, to seed it at load; null for a room nobody registered. */
  readonly findRoom: (roomId: string) => Promise<SeedInfo | null>;
  /** True for runs the gateway is still tracking; other unfinished run records are stale. */
  readonly isLiveRun: (jobId: string) => boolean;
  /** @default COMPACT_AFTER_UPDATES */
  readonly compactAfterUpdates?: number;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** Loads, logs and compacts rooms; seeds rooms registered by `createRoom`. */
export class SqlitePersistence implements Extension {
  readonly extensionName = 'codecell-sqlite-persistence';
  // Load before any other extension looks at the document.
  readonly priority = 1000;
  readonly #o: SqlitePersistenceOptions;
  /** Updates logged per room since its last compaction. */
  readonly #logged = new Map<string, number>();
  /** Deleted rooms: nothing more is stored for them until they are created again. */
  readonly #forgotten = new Set<string>();

  constructor(options: SqlitePersistenceOptions) {
    this.#o = options;
  }

  /** Applies the stored log, starts logging, seeds a registered room and ends stale runs. */
  async onLoadDocument({ documentName, document }: onLoadDocumentPayload): Promise<void> {
    const { store } = this.#o;
    const updates = store.loadUpdates(documentName);
    if (updates.length > 0) Y.applyUpdate(document, Y.mergeUpdates(updates));
    this.#logged.set(documentName, updates.length);
    // Synchronous, so it runs before the acknowledgement (see the module doc).
    document.on('update', (update: Uint8Array) => {
      if (this.#forgotten.has(documentName) || !store.open) return;
      store.appendUpdate(documentName, update);
      this.#logged.set(documentName, (this.#logged.get(documentName) ?? 0) + 1);
    });
    const room = this.#forgotten.has(documentName) ? null : await this.#o.findRoom(documentName);
    if (room && seedRoom(document, room)) this.#o.logger.info('seeded room', { roomId: documentName });
    const now = (this.#o.now ?? Date.now)();
    const settled = settleStaleRuns(document, { isLive: this.#o.isLiveRun, now });
    if (settled > 0) this.#o.logger.info('ended run records left unfinished by an earlier gateway', { roomId: documentName, runs: settled });
    if ((this.#logged.get(documentName) ?? 0) > 1) this.#compact(documentName, document);
  }

  /** Compacts once the room's log is long (called debounced by Hocuspocus after changes). */
  async onStoreDocument({ documentName, document }: onStoreDocumentPayload): Promise<void> {
    if ((this.#logged.get(documentName) ?? 0) >= (this.#o.compactAfterUpdates ?? COMPACT_AFTER_UPDATES)) this.#compact(documentName, document);
  }

  /** Compacts a room as it leaves memory. */
  async beforeUnloadDocument({ documentName, document }: beforeUnloadDocumentPayload): Promise<void> {
    if ((this.#logged.get(documentName) ?? 0) > 1) this.#compact(documentName, document);
  }

  async afterUnloadDocument({ documentName }: afterUnloadDocumentPayload): Promise<void> {
    this.#logged.delete(documentName);
  }

  /** Compacts every room still loaded (at shutdown, before the store closes). */
  compactAll(documents: ReadonlyMap<string, Y.Doc>): void {
    for (const [name, doc] of documents) if ((this.#logged.get(name) ?? 0) > 1) this.#compact(name, doc);
  }

  /** The room was deleted: store nothing more of it (its log is dropped by the caller). */
  forget(roomId: string): void {
    this.#forgotten.add(roomId);
  }

  /** The room (id) was created again: store it as any other. */
  restore(roomId: string): void {
    this.#forgotten.delete(roomId);
  }

  #compact(roomId: string, doc: Y.Doc): void {
    if (!this.#o.store.open || this.#forgotten.has(roomId)) return;
    try {
      this.#o.store.compact(roomId, Y.encodeStateAsUpdate(doc));
      this.#logged.set(roomId, 1);
    } catch (err) {
      // The log is intact (compaction is one transaction): nothing is lost, the room just loads slower.
      this.#o.logger.warn('could not compact a room', { roomId, error: String(err) });
    }
  }
}
