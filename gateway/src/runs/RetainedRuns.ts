/**
 * Finished runs kept for late subscribers: each for RUN_RETENTION_MS, at most
 * `maxRuns` of them and `maxReplayBytes` of replay in all; beyond either the
 * oldest are forgotten first.
 * @module
 */
import type { Run } from './Run.js';

/** Options of {@link RetainedRuns}. */
export interface RetainedRunsOptions {
  readonly retentionMs: number;
  readonly maxRuns: number;
  readonly maxReplayBytes: number;
  /** Told when a run is forgotten (to drop it from the index). */
  readonly onForget: (jobId: string) => void;
}

/** The finished runs still kept, oldest first. */
export class RetainedRuns {
  readonly #o: RetainedRunsOptions;
  /** jobId → expiry timer and the replay bytes counted for it; a Map keeps insertion order. */
  readonly #kept = new Map<string, { timer: NodeJS.Timeout; bytes: number }>();
  #replayBytes = 0;

  constructor(options: RetainedRunsOptions) {
    this.#o = options;
  }

  get size(): number {
    return this.#kept.size;
  }

  /** Replay output held by the kept runs. */
  get replayBytes(): number {
    return this.#replayBytes;
  }

  /** Keeps a run that just finished, then forgets the oldest beyond the bounds. */
  add(run: Run): void {
    const timer = setTimeout(() => this.forget(run.jobId), this.#o.retentionMs);
    timer.unref();
    this.#kept.set(run.jobId, { timer, bytes: run.replayBytes });
    this.#replayBytes += run.replayBytes;
    for (const jobId of this.#kept.keys()) {
      if (this.#kept.size <= this.#o.maxRuns && this.#replayBytes <= this.#o.maxReplayBytes) break;
      this.forget(jobId);
    }
  }

  /** Forgets one run now. */
  forget(jobId: string): void {
    const kept = this.#kept.get(jobId);
    if (!kept) return;
    clearTimeout(kept.timer);
    this.#kept.delete(jobId);
    this.#replayBytes -= kept.bytes;
    this.#o.onForget(jobId);
  }

  /** Forgets every run (shutdown), without telling `onForget`. */
  clear(): void {
    for (const k of this.#kept.values()) clearTimeout(k.timer);
    this.#kept.clear();
    this.#replayBytes = 0;
  }
}
