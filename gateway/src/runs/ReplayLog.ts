/**
 * The ordered messages of one run, kept for late subscribers. Output is bounded:
 * when it exceeds the byte budget the oldest output is dropped (the newest is
 * kept) and the log is marked truncated. Control messages (start, exit, error,
 * end) are never dropped; only the latest `queued` is kept.
 * @module
 */
import type { StreamMessage } from '@codecell/protocol';

interface Entry {
  msg: StreamMessage;
  /** UTF-8 bytes of output data; 0 for control messages. */
  bytes: number;
}

/** Bounded replay buffer of one run. */
export class ReplayLog {
  readonly #budget: number;
  // Dropped entries become null and are compacted away now and then.
  #entries: Array<Entry | null> = [];
  #dead = 0;
  #outputBytes = 0;
  #truncated = false;
  /** First index that may still hold output (everything before it is control or null). */
  #trimFrom = 0;

  /** @param budgetBytes output bytes kept, e.g. STREAM_REPLAY_BYTES */
  constructor(budgetBytes: number) {
    this.#budget = budgetBytes;
  }

  /** True once any output was dropped. */
  get truncated(): boolean {
    return this.#truncated;
  }

  /** Output bytes currently held. */
  get outputBytes(): number {
    return this.#outputBytes;
  }

  /** Appends `msg`, then drops the oldest output beyond the budget. */
  append(msg: StreamMessage): void {
    if (msg.type === 'queued') this.#dropQueued();
    const bytes = outputBytesOf(msg);
    this.#entries.push({ msg, bytes });
    this.#outputBytes += bytes;
    this.#trim();
  }

  /** The messages to replay, oldest first. */
  snapshot(): StreamMessage[] {
    const out: StreamMessage[] = [];
    for (const e of this.#entries) if (e) out.push(e.msg);
    return out;
  }

  #dropQueued(): void {
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      if (this.#entries[i]?.msg.type === 'queued') {
        this.#entries[i] = null;
        this.#dead++;
        return;
      }
    }
  }

  #trim(): void {
    while (this.#outputBytes > this.#budget && this.#trimFrom < this.#entries.length) {
      const e = this.#entries[this.#trimFrom];
      if (!e || e.bytes === 0) {
        this.#trimFrom++;
        continue;
      }
      this.#truncated = true;
      const excess = this.#outputBytes - this.#budget;
      if (e.bytes <= excess) {
        this.#entries[this.#trimFrom] = null;
        this.#dead++;
        this.#outputBytes -= e.bytes;
        this.#trimFrom++;
        continue;
      }
      // Keep the tail of a chunk that is only partly over budget.
      const kept = keepTail(e.msg, e.bytes - excess);
      this.#outputBytes -= e.bytes - kept.bytes;
      this.#entries[this.#trimFrom] = kept;
    }
    if (this.#dead > 64 && this.#dead * 2 > this.#entries.length) this.#compact();
  }

  #compact(): void {
    const live = this.#entries.slice(0, this.#trimFrom).filter((e) => e !== null).length;
    this.#entries = this.#entries.filter((e) => e !== null);
    this.#trimFrom = live;
    this.#dead = 0;
  }
}

function outputBytesOf(msg: StreamMessage): number {
  if (msg.type !== 'event') return 0;
  const ev = msg.event;
  return ev.type === 'stdout' || ev.type === 'stderr' ? Buffer.byteLength(ev.data) : 0;
}

function keepTail(msg: StreamMessage, keepBytes: number): Entry {
  if (msg.type !== 'event' || (msg.event.type !== 'stdout' && msg.event.type !== 'stderr')) return { msg, bytes: 0 };
  const buf = Buffer.from(msg.event.data);
  let start = buf.length - keepBytes;
  // Do not start inside a UTF-8 sequence (continuation bytes are 10xxxxxx).
  while (start < buf.length && ((buf[start] ?? 0) & 0xc0) === 0x80) start++;
  const data = buf.subarray(start).toString('utf8');
  return { msg: { ...msg, event: { type: msg.event.type, data } }, bytes: buf.length - start };
}
