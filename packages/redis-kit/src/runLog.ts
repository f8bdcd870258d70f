/**
 * Writing and reading a run's log stream (fleet mode). A run's messages are
 * entries `{k, j[, s]}` (see `FLEET_SCRIPTS`): `queued` (only the latest is
 * kept), `event` (numbered in Redis) and `end` (last; nothing follows). The
 * host writes the events; gateways write `queued`, and `end` when a run never
 * reached a host or its host died. Output beyond the run's replay budget is
 * dropped oldest first, as the in-process replay does, and the run is marked
 * truncated.
 * @module
 */
import type { Redis } from 'ioredis';
import { FLEET_SCRIPTS, streamMessageSchema } from '@codecell/protocol';
import type { FleetKeys, RunEvent, StreamMessage } from '@codecell/protocol';
import { evalScript } from './connect.js';
import type { StreamEntry } from './StreamTail.js';

/** How a run ended (`end` without its tag). */
export type RunEnd = Omit<Extract<StreamMessage, { type: 'end' }>, 'type'>;

/** Which run's log. */
export interface RunLogTarget {
  readonly redis: Redis;
  readonly keys: FleetKeys;
  readonly jobId: string;
}

/** Appends `queued {position}` (replacing the previous one); false once the run ended. */
export async function appendQueued(t: RunLogTarget, position: number): Promise<boolean> {
  const id = await evalScript(t.redis, {
    script: FLEET_SCRIPTS.appendQueued,
    keys: [t.keys.runMeta(t.jobId), t.keys.runLog(t.jobId)],
    args: [JSON.stringify({ position }), position],
  });
  return typeof id === 'string';
}

/** What {@link finishRun} records. */
export interface FinishRun {
  readonly end: RunEnd;
  readonly finishedAt: number;
  readonly retentionMs: number;
  /** The room whose unfinished-runs set loses the run. */
  readonly sessionId?: string | undefined;
  readonly cpuMs?: number | null;
  readonly wallMs?: number | null;
  /** An `error` event appended before `end` (a run that never produced an exit). */
  readonly error?: Extract<RunEvent, { type: 'error' }> | undefined;
}

/** Appends `end` (after `error` if given), marks the run finished and lets its keys expire. False when it had ended already. */
export async function finishRun(t: RunLogTarget, f: FinishRun): Promise<boolean> {
  const meta = t.keys.runMeta(t.jobId);
  const done = await evalScript(t.redis, {
    script: FLEET_SCRIPTS.finish,
    keys: [meta, t.keys.runLog(t.jobId), t.keys.runControl(t.jobId), f.sessionId === undefined ? meta : t.keys.roomRuns(f.sessionId), t.keys.runFiles(t.jobId)],
    args: [
      JSON.stringify({ type: 'end', ...f.end }),
      f.finishedAt,
      f.retentionMs,
      f.cpuMs ?? '',
      f.wallMs ?? '',
      f.error ? JSON.stringify(f.error) : '',
      t.jobId,
    ],
  });
  return done === 1;
}

/** Appends a run's events in order, keeping at most `replayBytes` of output in the log. */
export class EventWriter {
  readonly #t: RunLogTarget;
  readonly #budget: number;
  /** Output entries still in the log, oldest first. */
  readonly #output: Array<{ id: string; bytes: number }> = [];
  #outputBytes = 0;
  #truncated = false;
  #batch = 0;

  constructor(target: RunLogTarget, replayBytes: number) {
    this.#t = target;
    this.#budget = replayBytes;
  }

  /**
   * Appends `events`; false once the run ended (nothing was appended). A
   * `file` event goes into the log with its content emptied (watchers read
   * the file in the room); its content waits in the run's files hash.
   */
  async append(events: readonly RunEvent[]): Promise<boolean> {
    if (events.length === 0) return true;
    const { redis, keys, jobId } = this.#t;
    const logged = events.map((e) => JSON.stringify(e.type === 'file' ? { ...e, content: '' } : e));
    const files = events.map((e) => (e.type === 'file' ? JSON.stringify(e) : ''));
    const ids = await evalScript(redis, {
      script: FLEET_SCRIPTS.appendEvents,
      keys: [keys.runMeta(jobId), keys.runLog(jobId), keys.runFiles(jobId)],
      args: [++this.#batch, events.length, ...logged, ...files],
    });
    // Appended already: this call was resent after Redis came back (its entry ids are not known here).
    if (ids === 'dup') return true;
    if (!Array.isArray(ids)) return false;
    events.forEach((e, i) => {
      const bytes = e.type === 'stdout' || e.type === 'stderr' ? Buffer.byteLength(e.data) : 0;
      if (bytes > 0) {
        this.#output.push({ id: String(ids[i]), bytes });
        this.#outputBytes += bytes;
      }
    });
    await this.#trim();
    return true;
  }

  async #trim(): Promise<void> {
    const dropped: string[] = [];
    while (this.#outputBytes > this.#budget && this.#output.length > 1) {
      const e = this.#output.shift();
      if (!e) break;
      this.#outputBytes -= e.bytes;
      dropped.push(e.id);
    }
    if (dropped.length === 0) return;
    const { redis, keys, jobId } = this.#t;
    const multi = redis.multi().xdel(keys.runLog(jobId), ...dropped);
    if (!this.#truncated) multi.hset(keys.runMeta(jobId), 'truncated', '1');
    this.#truncated = true;
    await multi.exec();
  }
}

/** A log entry as the stream message it stands for; null when it is not one (skipped by readers). */
export function parseLogEntry(entry: StreamEntry): StreamMessage | null {
  const { k, j, s } = entry.fields;
  if (j === undefined) return null;
  let body: unknown;
  try {
    body = JSON.parse(j) as unknown;
  } catch {
    return null;
  }
  const candidate = k === 'event' ? { type: 'event', seq: Number(s), event: body } : k === 'queued' ? { type: 'queued', ...(body as object) } : body;
  const parsed = streamMessageSchema.safeParse(candidate);
  return parsed.success ? parsed.data : null;
}
