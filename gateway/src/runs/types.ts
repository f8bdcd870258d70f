/**
 * Types shared by the run core and its adapters.
 * @module
 */
import type { FileEvent, RoomRunRecord, runCodeInputSchema } from '@codecell/protocol';
import type { z } from 'zod';

/** `runCode` input after parsing (defaults applied). */
export type ParsedRunCodeInput = z.output<typeof runCodeInputSchema>;

/** A run of a room changed status (queued → running → how it ended). */
export interface RunUpdate {
  /** The room the run belongs to (`runCode`'s roomId). */
  readonly roomId: string;
  /** The run as the room shows it. */
  readonly record: RoomRunRecord;
}

/**
 * Told about every status change of runs that have a room, in order per run.
 * Must not throw (a throw is logged and ignored); slow work belongs in a queue.
 */
export type OnRunUpdate = (update: RunUpdate) => void;

/** A file a run of a room wrote (its `file` event, with the content). */
export interface RunFile {
  readonly roomId: string;
  readonly jobId: string;
  readonly file: FileEvent;
}

/** Told about each file a run of a room wrote, in order, before the run's final update. Must not throw. */
export type OnRunFile = (file: RunFile) => void;

/** Who a run belongs to: who pressed Run, as quotas and `startedBy` see them. */
export interface RunOwner {
  /** Quota key: `user:<id>`, or `addr:<ip>` for guests. */
  readonly key: string;
  /** The account, or null (AUTH_MODE=none has the local user). */
  readonly userId: string | null;
  /** Shown to the room as `startedBy`. */
  readonly displayName: string | null;
}
