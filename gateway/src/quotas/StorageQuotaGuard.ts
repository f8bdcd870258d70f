/**
 * Hocuspocus extension for the storage quota (QUOTA_STORAGE_MB): an update to
 * a room is refused with `quota_exceeded` when the content of all rooms its
 * owner owns would grow past the limit. The owner's total is read from the
 * store at most every {@link STORAGE_RECOUNT_MS} and counted up in between.
 * The gateway's own writes into a room (files a run wrote) are counted through
 * {@link StorageQuotaGuard.admit} too, since no collab hook sees them.
 * @module
 */
import type { Extension, beforeSyncPayload } from '@hocuspocus/server';
import { CollabRejection } from '../collab/CollabRejection.js';
import type { GatewayStore } from '../store/GatewayStore.js';

/** How long a counted total is trusted (plus what was added since). */
export const STORAGE_RECOUNT_MS = 2_000;

/** y-protocols sync message types that carry an update. */
const SYNC_STEP_2 = 1;
const SYNC_UPDATE = 2;

/** Options of {@link StorageQuotaGuard}. */
export interface StorageQuotaGuardOptions {
  readonly store: GatewayStore;
  readonly limitBytes: number;
  /** @default Date.now */
  readonly now?: (() => number) | undefined;
}

interface Counted {
  bytes: number;
  at: number;
}

/** Refuses updates past the owner's storage quota. */
export class StorageQuotaGuard implements Extension {
  readonly extensionName = 'codecell-storage-quota';
  readonly #o: StorageQuotaGuardOptions;
  readonly #owners = new Map<string, Counted>();

  constructor(options: StorageQuotaGuardOptions) {
    this.#o = options;
  }

  async beforeSync({ type, payload, documentName }: beforeSyncPayload): Promise<void> {
    if (type !== SYNC_STEP_2 && type !== SYNC_UPDATE) return;
    const problem = await this.admit({ roomId: documentName, bytes: payload.byteLength });
    if (problem !== null) throw new CollabRejection('quota_exceeded', problem);
  }

  /**
   * Counts `bytes` about to be written into the room against its owner's
   * quota: null when they fit (and are counted), else why not. Client updates
   * (`beforeSync`) and the gateway's own writes (files a run wrote) share it.
   */
  async admit({ roomId, bytes }: { readonly roomId: string; readonly bytes: number }): Promise<string | null> {
    const room = await this.#o.store.getRoom(roomId);
    if (room?.ownerId === null || room === null) return null;
    const now = (this.#o.now ?? Date.now)();
    let counted = this.#owners.get(room.ownerId);
    if (!counted || now - counted.at > STORAGE_RECOUNT_MS) {
      counted = { bytes: await this.#o.store.storageBytesOwnedBy(room.ownerId), at: now };
      this.#owners.set(room.ownerId, counted);
    }
    if (counted.bytes + bytes > this.#o.limitBytes) {
      return `quota storage_bytes reached: the rooms of this room's owner hold ${counted.bytes} bytes and this change adds ${bytes} (QUOTA_STORAGE_MB=${Math.round(this.#o.limitBytes / 1048576)}); delete files or rooms`;
    }
    counted.bytes += bytes;
    return null;
  }
}
