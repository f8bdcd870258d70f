/**
 * Keeps rooms in a {@link RoomLog} (SQLite or PostgreSQL) so that nothing a
 * client was told is saved is lost, whichever gateway it talked to:
 * - a client's update is appended in `beforeSync`, which Hocuspocus awaits
 *   before it applies the update and acknowledges it; {@link UpdateLogger}
 *   runs after every guard, so only accepted updates are stored;
 * - the gateway's own changes (seeding, run records) are appended from the
 *   document's `update` event, in order per room;
 * - updates that came from another gateway through Redis are not stored
 *   again: the gateway that accepted them did.
 * Compaction (debounced by Hocuspocus, and when a room unloads) merges the
 * stored log with the document, never dropping what it misses.
 * @module
 */
import * as Y from 'yjs';
import type {
  Extension,
  afterUnloadDocumentPayload,
  beforeSyncPayload,
  beforeUnloadDocumentPayload,
  onLoadDocumentPayload,
  onStoreDocumentPayload,
} from '@hocuspocus/server';
import type { Logger } from '@codecell/server-kit';
import type { RoomLog } from './RoomLog.js';
import { seedRoom, settleStaleRuns } from './roomDoc.js';
import type { SeedInfo } from './roomDoc.js';

/** Log entries after which a store compacts the room (merges its log into one update). */
export const COMPACT_AFTER_UPDATES = 500;
/** y-protocols sync message types that carry document content. */
const SYNC_STEP_2 = 1;
const SYNC_UPDATE = 2;

/** Options of {@link RoomPersistence}. */
export interface RoomPersistenceOptions {
  readonly log: RoomLog;
  readonly logger: Logger;
  /** The registered room, to seed it at load; null for a room nobody registered. */
  readonly findRoom: (roomId: string) => Promise<SeedInfo | null>;
  /** True for runs that are still going (on any gateway); other unfinished run records are stale. */
  readonly isLiveRun: (jobId: string) => Promise<boolean>;
  /** @default COMPACT_AFTER_UPDATES */
  readonly compactAfterUpdates?: number;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** Origins whose updates are stored elsewhere: a client's (in beforeSync) and another gateway's (by that gateway). */
function storedElsewhere(origin: unknown): boolean {
  const source = (origin as { source?: unknown } | null)?.source;
  return source === 'connection' || source === 'redis';
}

/** Loads, logs and compacts rooms; seeds rooms registered by `createRoom`. */
export class RoomPersistence implements Extension {
  readonly extensionName = 'codecell-room-persistence';
  // Load before any other extension looks at the document.
  readonly priority = 1000;
  /** The extension that stores clients' updates; put it last (after every guard). */
  readonly updateLogger: Extension;
  readonly #o: RoomPersistenceOptions;
  /** Updates logged per room since its last compaction. */
  readonly #logged = new Map<string, number>();
  /** The gateway's own writes still on their way, per room (in order). */
  readonly #writes = new Map<string, Promise<void>>();
  /** Deleted rooms: nothing more is stored for them until they are created again. */
  readonly #forgotten = new Set<string>();

  constructor(options: RoomPersistenceOptions) {
    this.#o = options;
    this.updateLogger = new UpdateLogger(this);
  }

  /** Applies the stored log, starts logging the gateway's own changes, seeds a registered room and ends stale runs. */
  async onLoadDocument({ documentName, document }: onLoadDocumentPayload): Promise<void> {
    const { log } = this.#o;
    const updates = await log.loadUpdates(documentName);
    if (updates.length > 0) Y.applyUpdate(document, Y.mergeUpdates(updates));
    this.#logged.set(documentName, updates.length);
    document.on('update', (update: Uint8Array, origin: unknown) => {
      if (storedElsewhere(origin)) return;
      this.#write(documentName, update);
    });
    const room = this.#forgotten.has(documentName) ? null : await this.#o.findRoom(documentName);
    if (room && seedRoom(document, room)) this.#o.logger.info('seeded room', { roomId: documentName });
    const now = (this.#o.now ?? Date.now)();
    const settled = await settleStaleRuns(document, { isLive: this.#o.isLiveRun, now });
    if (settled > 0) this.#o.logger.info('ended run records left unfinished by a gateway that stopped', { roomId: documentName, runs: settled });
    if ((this.#logged.get(documentName) ?? 0) > 1) await this.#compact(documentName, document);
  }

  /** Compacts once the room's log is long (called debounced by Hocuspocus after changes). */
  async onStoreDocument({ documentName, document }: onStoreDocumentPayload): Promise<void> {
    if ((this.#logged.get(documentName) ?? 0) >= (this.#o.compactAfterUpdates ?? COMPACT_AFTER_UPDATES)) await this.#compact(documentName, document);
  }

  /** Compacts a room as it leaves memory. */
  async beforeUnloadDocument({ documentName, document }: beforeUnloadDocumentPayload): Promise<void> {
    await this.#writes.get(documentName);
    if ((this.#logged.get(documentName) ?? 0) > 1) await this.#compact(documentName, document);
  }

  async afterUnloadDocument({ documentName }: afterUnloadDocumentPayload): Promise<void> {
    this.#logged.delete(documentName);
  }

  /** Stores a client's update before it is applied (see {@link UpdateLogger}). */
  async logClientUpdate(roomId: string, update: Uint8Array): Promise<void> {
    if (this.#forgotten.has(roomId) || !this.#o.log.open) return;
    await this.#o.log.appendUpdate(roomId, update);
    this.#logged.set(roomId, (this.#logged.get(roomId) ?? 0) + 1);
  }

  /** Waits for the gateway's own writes, then compacts every room still loaded (at shutdown, before the log closes). */
  async compactAll(documents: ReadonlyMap<string, Y.Doc>): Promise<void> {
    await Promise.all(this.#writes.values());
    for (const [name, doc] of documents) if ((this.#logged.get(name) ?? 0) > 1) await this.#compact(name, doc);
  }

  /** The gateway's own writes that have not committed yet have. */
  async flush(): Promise<void> {
    await Promise.all(this.#writes.values());
  }

  /** The room was deleted: store nothing more of it (its log is dropped by the caller). */
  forget(roomId: string): void {
    this.#forgotten.add(roomId);
  }

  /** The room (id) was created again: store it as any other. */
  restore(roomId: string): void {
    this.#forgotten.delete(roomId);
  }

  #write(roomId: string, update: Uint8Array): void {
    if (this.#forgotten.has(roomId) || !this.#o.log.open) return;
    this.#logged.set(roomId, (this.#logged.get(roomId) ?? 0) + 1);
    // SQLite commits inside appendUpdate (synchronously); PostgreSQL writes in order behind the room's earlier writes.
    const previous = this.#writes.get(roomId) ?? Promise.resolve();
    const next = previous
      .then(() => this.#o.log.appendUpdate(roomId, update))
      .catch((err: unknown) => this.#o.logger.error('could not store a change of the room', { roomId, error: String(err) }));
    this.#writes.set(roomId, next);
    void next.then(() => {
      if (this.#writes.get(roomId) === next) this.#writes.delete(roomId);
    });
  }

  async #compact(roomId: string, doc: Y.Doc): Promise<void> {
    if (!this.#o.log.open || this.#forgotten.has(roomId)) return;
    try {
      await this.#o.log.compact(roomId, Y.encodeStateAsUpdate(doc));
      this.#logged.set(roomId, 1);
    } catch (err) {
      // The log is intact (compaction is one transaction): nothing is lost, the room just loads slower.
      this.#o.logger.warn('could not compact a room', { roomId, error: String(err) });
    }
  }
}

/** Stores each accepted client update before Hocuspocus applies and acknowledges it. */
class UpdateLogger implements Extension {
  readonly extensionName = 'codecell-update-logger';
  // Last: after the room guard, access and quota checks refused what they refuse.
  readonly priority = 1;
  readonly #p: RoomPersistence;

  constructor(persistence: RoomPersistence) {
    this.#p = persistence;
  }

  async beforeSync({ type, payload, documentName, document, connection }: beforeSyncPayload): Promise<void> {
    if (type !== SYNC_STEP_2 && type !== SYNC_UPDATE) return;
    // Read-only connections' updates are refused by Hocuspocus itself after this hook.
    if ((connection as { readOnly?: boolean } | undefined)?.readOnly === true) return;
    // A joining client's sync step 2 usually holds nothing new (its copy came from here): not worth a row.
    if (type === SYNC_STEP_2 && Y.snapshotContainsUpdate(Y.snapshot(document), payload)) return;
    await this.#p.logClientUpdate(documentName, payload);
  }
}
