/**
 * The room's run history (`ROOM_DOC.runs`, written only by the gateway, C6):
 * parsed records, which run the output pane follows, and how each reads.
 * @module
 */
import type * as Y from 'yjs';
import { isFinalRunStatus, ROOM_DOC, roomRunRecordSchema } from '@codecell/protocol';
import type { RoomRunRecord } from '@codecell/protocol';

/** The `runs` array of a room document. */
export function runsOf(doc: Y.Doc): Y.Array<unknown> {
  return doc.getArray<unknown>(ROOM_DOC.runs);
}

/** Every well-formed record, oldest first (malformed ones are skipped). */
export function readRuns(doc: Y.Doc): RoomRunRecord[] {
  const out: RoomRunRecord[] = [];
  for (const raw of runsOf(doc).toArray()) {
    const parsed = roomRunRecordSchema.safeParse(raw);
    if (parsed.success) out.push(parsed.data);
  }
  return out;
}

/** Wall time of a run: the program's own when it exited, else end − start; null while it runs. */
export function runDurationMs(run: RoomRunRecord): number | null {
  if (run.wallMs !== null) return run.wallMs;
  if (run.endedAt !== null) return Math.max(0, run.endedAt - run.startedAt);
  return null;
}

/** True while the run is queued or running. */
export function isLiveRun(run: RoomRunRecord): boolean {
  return !isFinalRunStatus(run.status);
}

/**
 * Decides which run the output pane shows: whenever a new run appears at the
 * end of the history (started by anyone), that one. Feed it every version of
 * the history; it answers the jobId to switch to, or null to stay.
 */
export class NewestRunTracker {
  #newest: string | null | undefined = undefined;

  /** @returns the jobId to attach to, or null when the newest run did not change. */
  update(runs: readonly RoomRunRecord[]): string | null {
    const newest = runs.at(-1)?.jobId ?? null;
    if (newest === this.#newest) return null;
    this.#newest = newest;
    return newest;
  }
}

/** `14:03:07` today, `Mar 4, 14:03` on other days. */
export function formatRunTime(at: number, now: number = Date.now()): string {
  const d = new Date(at);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  return sameDay
    ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })
    : d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
}

/**
 * Files the runs wrote into the room (`written`), newest run last wins: path →
 * "written by Ada's run at 14:03:07" (the mark on the file's row).
 */
export function producedFiles(runs: readonly RoomRunRecord[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const run of runs) {
    for (const f of run.files ?? []) {
      if (f.status === 'written') out.set(f.path, `written by ${run.startedBy ? `${run.startedBy}'s` : 'a'} run at ${formatRunTime(run.startedAt)}`);
    }
  }
  return out;
}
