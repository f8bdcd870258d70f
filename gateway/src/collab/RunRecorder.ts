/**
 * Writes the runs of a room into its document (`runs`), so everyone in the
 * room learns each jobId and its status, and late joiners see the history.
 * Implements the run core's `onRunUpdate` hook; knows nothing of transports.
 * @module
 */
import { CodeCellError, isFinalRunStatus } from '@codecell/protocol';
import type * as Y from 'yjs';
import type { Logger } from '@codecell/server-kit';
import type { RunFile, RunUpdate } from '../runs/types.js';
import type { FileEvent } from '@codecell/protocol';
import { upsertRunRecord } from './roomDoc.js';
import { pendingBytes, recordRunFile } from './runFiles.js';
import type { RunFileLimits } from './runFiles.js';

/** An open handle on a room document (a Hocuspocus direct connection). */
export interface RoomHandle {
  /** Runs `fn` in one transaction of the room's document. */
  transact(fn: (doc: Y.Doc) => void): Promise<void>;
  /** Releases the room (it may then be stored and unloaded). */
  disconnect(): Promise<void>;
}

/** Options of {@link RunRecorder}. */
export interface RunRecorderOptions {
  /** Opens (loading if needed) a room's document. */
  readonly openRoom: (roomId: string) => Promise<RoomHandle>;
  /** The room caps files a run wrote are held to. */
  readonly limits: RunFileLimits;
  /**
   * Asked before a file's bytes go into the room (the storage quota: the
   * gateway's own writes pass no collab hook). Throws a CodeCellError to
   * refuse; the file is then listed as refused with its message.
   */
  readonly beforeWrite?: ((o: { readonly roomId: string; readonly bytes: number }) => Promise<void>) | undefined;
  /**
   * How long a room nobody else holds stays open after its last run ended,
   * so the next run in it (an API client's series) does not load and compact
   * it again, ms.
   * @default ROOM_LINGER_MS
   */
  readonly lingerMs?: number;
  readonly logger: Logger;
}

/** How long a room stays open after its last run ended (see {@link RunRecorderOptions.lingerMs}). */
export const ROOM_LINGER_MS = 5_000;

/**
 * How long a run's `queued` record waits for the next one (`running`, when a
 * host takes it at once), so that both are written in one transaction, ms.
 * A `running` or final record is written at once, with what waits: while the
 * program starts, not when its first output comes back.
 */
export const RECORD_COALESCE_MS = 20;

interface RoomState {
  /** Writes to this room, one after another. */
  tail: Promise<void>;
  handle: RoomHandle | null;
  /** Runs of the room that have not ended. */
  readonly live: Set<string>;
  /** Releases the room once it has lingered (its last run ended). */
  linger: NodeJS.Timeout | null;
  /** The latest record of each run not written yet (a record is the run's whole row). */
  readonly pending: Map<string, RunUpdate>;
  /** Writes `pending` when it has waited RECORD_COALESCE_MS. */
  flushTimer: NodeJS.Timeout | null;
}

/**
 * Records run updates in their rooms, in order per room (a run's updates of a
 * moment in one write, see {@link RECORD_COALESCE_MS}). A room stays open
 * while it has unfinished runs and is released a while after the last one
 * ended (`lingerMs`).
 */
export class RunRecorder {
  readonly #o: RunRecorderOptions;
  readonly #rooms = new Map<string, RoomState>();
  #disposed = false;

  constructor(options: RunRecorderOptions) {
    this.#o = options;
  }

  /** True while the run has not ended (its room record is still moving). */
  isLive(jobId: string): boolean {
    for (const room of this.#rooms.values()) if (room.live.has(jobId)) return true;
    return false;
  }

  /** The `onRunUpdate` hook. Never throws; failures are logged. */
  readonly onRunUpdate = (update: RunUpdate): void => {
    if (this.#disposed) {
      this.#o.logger.warn('run update after collab shutdown was not recorded', { roomId: update.roomId, jobId: update.record.jobId });
      return;
    }
    const { roomId, record } = update;
    const room = this.#room(roomId);
    stopLinger(room);
    // Marked synchronously so a room loading meanwhile does not take this run for a stale one.
    const final = isFinalRunStatus(record.status);
    if (final) room.live.delete(record.jobId);
    else room.live.add(record.jobId);
    room.pending.set(record.jobId, update);
    // Running (its VM began) or ended: written now, while the program works; only a wait in line waits for more.
    if (final || record.status === 'running') return this.#flush(roomId, room);
    if (room.flushTimer !== null) return;
    room.flushTimer = setTimeout(() => this.#flush(roomId, room), RECORD_COALESCE_MS);
    room.flushTimer.unref();
  };

  #room(roomId: string): RoomState {
    let room = this.#rooms.get(roomId);
    if (!room) {
      room = { tail: Promise.resolve(), handle: null, live: new Set(), linger: null, pending: new Map(), flushTimer: null };
      this.#rooms.set(roomId, room);
    }
    return room;
  }

  /** Writes the room's waiting records, after its earlier writes. */
  #flush(roomId: string, room: RoomState): void {
    if (room.flushTimer !== null) clearTimeout(room.flushTimer);
    room.flushTimer = null;
    if (room.pending.size === 0) return;
    const updates = [...room.pending.values()];
    room.pending.clear();
    // Yield to I/O first: the room write (a Yjs transaction and a synchronous
    // SQLite commit) must not sit between runCode and its reply, or between
    // a run's events and the subscribers they are relayed to.
    room.tail = room.tail
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => this.#write(roomId, room, updates))
      .catch((err: unknown) => this.#o.logger.error('could not record runs in their room', { roomId, jobIds: updates.map((u) => u.record.jobId), error: String(err) }));
  }

  /** The `onRunFile` hook: puts the file into the room, after the run's earlier updates. Never throws. */
  readonly onRunFile = ({ roomId, jobId, file }: RunFile): void => {
    const state = this.#rooms.get(roomId);
    // A run's files come between its `running` and final updates, so its room is open or opening.
    if (!state || this.#disposed) return;
    // After the run's records so far.
    this.#flush(roomId, state);
    state.tail = state.tail
      .then(async () => {
        const handle = (state.handle ??= await this.#o.openRoom(roomId));
        const quota = await this.#admit({ roomId, handle, file });
        await handle.transact((doc) => void recordRunFile(doc, { jobId, file, limits: this.#o.limits, quota }));
      })
      .catch((err: unknown) => this.#o.logger.error('could not put a file a run wrote into its room', { roomId, jobId, path: file.path, error: String(err) }));
  };

  /**
   * The `onTerminal` hook (issue 12): a terminal session of the room started
   * or ended. It has no run record, but the files it writes go into the room
   * like a run's, so the room stays open while it lives. Never throws.
   */
  readonly onTerminal = ({ roomId, jobId, live }: { readonly roomId: string; readonly jobId: string; readonly live: boolean }): void => {
    if (this.#disposed) return;
    if (!live && !this.#rooms.has(roomId)) return;
    const room = this.#room(roomId);
    if (live) {
      stopLinger(room);
      room.live.add(jobId);
      return;
    }
    room.live.delete(jobId);
    const state = room;
    state.tail = state.tail.then(() => this.#release(roomId, state)).catch((err: unknown) => this.#o.logger.error('could not release a room', { roomId, jobId, error: String(err) }));
  };

  /** Waits for pending writes and releases every room. Safe to call twice. */
  async dispose(): Promise<void> {
    for (const [roomId, room] of this.#rooms) this.#flush(roomId, room);
    this.#disposed = true;
    for (const room of this.#rooms.values()) stopLinger(room);
    await Promise.all([...this.#rooms.values()].map((r) => r.tail));
    const open = [...this.#rooms.values()].flatMap((r) => (r.handle ? [r.handle] : []));
    this.#rooms.clear();
    await Promise.allSettled(open.map((h) => h.disconnect()));
  }

  /** Null when the file's bytes may go into the room (or it will not be written anyway), else why not. */
  async #admit(o: { roomId: string; handle: RoomHandle; file: FileEvent }): Promise<string | null> {
    const check = this.#o.beforeWrite;
    if (!check) return null;
    let bytes = 0;
    // Reads only: a transaction that changes nothing makes no update.
    await o.handle.transact((doc) => void (bytes = pendingBytes(doc, o.file, this.#o.limits)));
    if (bytes === 0) return null;
    try {
      await check({ roomId: o.roomId, bytes });
      return null;
    } catch (err) {
      if (err instanceof CodeCellError) return err.message;
      this.#o.logger.error('could not check the storage quota for a file a run wrote', { roomId: o.roomId, path: o.file.path, error: String(err) });
      return 'the gateway could not check the storage quota; run again';
    }
  }

  async #write(roomId: string, room: RoomState, updates: readonly RunUpdate[]): Promise<void> {
    room.handle ??= await this.#o.openRoom(roomId);
    await room.handle.transact((doc) => {
      for (const { record } of updates) upsertRunRecord(doc, record);
    });
    await this.#release(roomId, room);
  }

  /** No unfinished runs (or terminal sessions) left: releases the room once it lingered, unless a newer update came meanwhile. */
  async #release(roomId: string, room: RoomState): Promise<void> {
    if (room.live.size > 0 || this.#disposed || room.linger !== null) return;
    const lingerMs = this.#o.lingerMs ?? ROOM_LINGER_MS;
    if (lingerMs > 0 && room.handle !== null) {
      room.linger = setTimeout(() => {
        room.linger = null;
        room.tail = room.tail.then(() => this.#close(roomId, room)).catch((err: unknown) => this.#o.logger.error('could not release a room', { roomId, error: String(err) }));
      }, lingerMs);
      room.linger.unref();
      return;
    }
    await this.#close(roomId, room);
  }

  async #close(roomId: string, room: RoomState): Promise<void> {
    if (room.live.size > 0 || this.#disposed || room.linger !== null) return;
    const handle = room.handle;
    room.handle = null;
    if (this.#rooms.get(roomId) === room && room.live.size === 0) this.#rooms.delete(roomId);
    await handle?.disconnect();
  }
}

function stopLinger(room: RoomState): void {
  if (room.linger !== null) clearTimeout(room.linger);
  room.linger = null;
}
