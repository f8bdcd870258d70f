/**
 * Follows many Redis Streams over ONE blocking connection: `XREAD BLOCK` over
 * every followed key at once, woken through a stream of its own when the set
 * changes. Gateways follow run logs with it (any gateway serves any run), and
 * sandbox hosts follow the control streams of their runs.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { settleWithin } from './connect.js';

/** Longest one `XREAD` blocks; the loop then re-issues it (and notices a closed tail), ms. */
export const TAIL_BLOCK_MS = 5_000;
/** Entries read per stream per call. */
const TAIL_COUNT = 256;
/** Pause after a failed read before trying again (Redis restarting), ms. */
const TAIL_RETRY_MS = 200;

/** One stream entry: its id and its fields. */
export interface StreamEntry {
  readonly id: string;
  readonly fields: Readonly<Record<string, string>>;
}

/** Receives entries in order; returns `false` to stop following. Must not throw. */
export type OnEntries = (entries: readonly StreamEntry[]) => boolean | void;

interface Follow {
  lastId: string;
  readonly onEntries: OnEntries;
}

/** Options of {@link StreamTail}. */
export interface StreamTailOptions {
  /** A connection of its own (it blocks); the tail closes it. */
  readonly blocking: Redis;
  /** Any other connection, used to wake the blocked one. */
  readonly client: Redis;
  /** Prefix of the wake stream's key. */
  readonly prefix: string;
  readonly onError?: (err: unknown) => void;
  /** Longest wait for Redis when disposing, ms (Redis may be away). @default 1000 */
  readonly stepMs?: number;
}

/** Tails streams until disposed. */
export class StreamTail {
  readonly #o: StreamTailOptions;
  readonly #follows = new Map<string, Follow>();
  readonly #wakeKey: string;
  #wakeId = '0-0';
  #wakeExpires = false;
  #closed = false;
  #idle: (() => void) | null = null;
  readonly #loop: Promise<void>;

  constructor(options: StreamTailOptions) {
    this.#o = options;
    this.#wakeKey = `${options.prefix}:tail-wake:${randomBytes(8).toString('hex')}`;
    this.#loop = this.#run();
  }

  /** Streams followed now. */
  get size(): number {
    return this.#follows.size;
  }

  /**
   * Delivers the entries of `key` after `fromId` (`0-0`: all of them) until
   * `onEntries` returns false or the returned function is called. One follower per key.
   */
  follow(key: string, fromId: string, onEntries: OnEntries): () => void {
    const f: Follow = { lastId: fromId, onEntries };
    this.#follows.set(key, f);
    this.#wake();
    return () => {
      if (this.#follows.get(key) === f) this.#follows.delete(key);
    };
  }

  /** Stops the loop and closes the blocking connection. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#follows.clear();
    this.#idle?.();
    this.#o.blocking.disconnect(false);
    await this.#loop;
    // Redis may be away: the wake key expires on its own then.
    await settleWithin(this.#o.client.del(this.#wakeKey), this.#o.stepMs ?? 1_000);
  }

  #wake(): void {
    if (this.#idle) return this.#idle();
    this.#o.client.xadd(this.#wakeKey, 'MAXLEN', '1', '*', 'w', '1').catch((err: unknown) => this.#o.onError?.(err));
    // A process that dies leaves its wake key behind: it expires a day after the first wake (if a wake is lost, the blocked read ends by itself within TAIL_BLOCK_MS).
    if (!this.#wakeExpires) {
      this.#wakeExpires = true;
      void this.#o.client.pexpire(this.#wakeKey, 24 * 3_600_000).catch(() => undefined);
    }
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      if (this.#follows.size === 0) {
        await new Promise<void>((resolve) => (this.#idle = resolve));
        this.#idle = null;
        continue;
      }
      try {
        await this.#readOnce();
      } catch (err) {
        if (this.#closed) return;
        this.#o.onError?.(err);
        await new Promise((r) => setTimeout(r, TAIL_RETRY_MS));
      }
    }
  }

  async #readOnce(): Promise<void> {
    const keys = [...this.#follows.keys()];
    const ids = keys.map((k) => this.#follows.get(k)?.lastId ?? '0-0');
    const res = (await this.#o.blocking.xread('COUNT', TAIL_COUNT, 'BLOCK', TAIL_BLOCK_MS, 'STREAMS', this.#wakeKey, ...keys, this.#wakeId, ...ids));
    for (const [key, raw] of res ?? []) {
      const last = raw.at(-1);
      if (key === this.#wakeKey) {
        if (last) this.#wakeId = last[0];
        continue;
      }
      const f = this.#follows.get(key);
      if (!f || !last) continue;
      f.lastId = last[0];
      const entries = raw.map(([id, flat]) => ({ id, fields: toFields(flat) }));
      let more: boolean | void;
      try {
        more = f.onEntries(entries);
      } catch (err) {
        this.#o.onError?.(err);
        more = false;
      }
      if (more === false && this.#follows.get(key) === f) this.#follows.delete(key);
    }
  }
}

/** `[f1, v1, f2, v2]` → `{f1: v1, f2: v2}`. */
export function toFields(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}
