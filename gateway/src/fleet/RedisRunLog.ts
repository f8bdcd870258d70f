/**
 * The run event log on Redis (fleet mode): each run's facts in a HASH and its
 * messages in a Stream, so any gateway serves any `/stream/<jobId>` with the
 * full replay. Live delivery comes from one {@link StreamTail} per gateway,
 * one follower per run however many sockets watch it.
 * @module
 */
import type { Redis } from 'ioredis';
import { GATEWAY_PROTOCOL_VERSION, RUN_META, UNFINISHED_RUN_TTL_MS, fileEventSchema, fleetRunStateSchema } from '@codecell/protocol';
import type { FileEvent, FleetKeys, RunEvent, StreamMessage } from '@codecell/protocol';
import { finishRun, parseLogEntry, toFields } from '@codecell/redis-kit';
import type { StreamEntry, StreamTail } from '@codecell/redis-kit';
import type { Logger } from '@codecell/server-kit';
import type { RunEnd, RunFacts, RunInfo, RunLogPort, RunSubscriber, RunSubscription } from '../runs/ports.js';
import type { RunOwner } from '../runs/types.js';
import { compareStreamIds } from './streamIds.js';

export { UNFINISHED_RUN_TTL_MS } from '@codecell/protocol';

/** Options of {@link RedisRunLog}. */
export interface RedisRunLogOptions {
  readonly redis: Redis;
  readonly keys: FleetKeys;
  readonly tail: StreamTail;
  readonly logger: Logger;
  /** RUN_RETENTION_MS: how long a finished run's log stays. */
  readonly retentionMs: number;
  /** This gateway's id: the runs it opens are in its `followed` set until released. */
  readonly gatewayId: string;
  /** @default Date.now */
  readonly now?: () => number;
}

interface Watcher {
  readonly subscriber: RunSubscriber;
  /** Entries up to this id were in its replay; null while the replay is being read (live entries wait in `early`). */
  seenId: string | null;
  readonly early: StreamEntry[];
}

/** One followed run: its watchers on this gateway. */
interface Follower {
  readonly watchers: Set<Watcher>;
  stop: () => void;
}

/** Run logs in Redis. */
export class RedisRunLog implements RunLogPort {
  readonly #o: RedisRunLogOptions;
  readonly #followers = new Map<string, Follower>();

  constructor(options: RedisRunLogOptions) {
    this.#o = options;
  }

  /** Runs followed by this gateway now. */
  get followed(): number {
    return this.#followers.size;
  }

  async open(f: RunFacts): Promise<void> {
    const { redis, keys } = this.#o;
    const meta = keys.runMeta(f.jobId);
    const multi = redis
      .multi()
      .hset(meta, {
        [RUN_META.state]: 'queued',
        [RUN_META.startedBy]: f.startedBy ?? '',
        [RUN_META.owner]: f.owner === null ? '' : JSON.stringify(f.owner),
        [RUN_META.submittedAt]: String(f.submittedAt),
        [RUN_META.seq]: '0',
        [RUN_META.stdinPending]: '0',
        ...(f.sessionId === undefined ? {} : { [RUN_META.sessionId]: f.sessionId }),
        // A terminal session always has a terminal: resizes reach it.
        ...(f.terminal === true ? { [RUN_META.terminal]: '1', [RUN_META.tty]: '1' } : {}),
      })
      .pexpire(meta, UNFINISHED_RUN_TTL_MS);
    if (f.sessionId !== undefined) multi.sadd(keys.roomRuns(f.sessionId), f.jobId);
    multi.sadd(keys.followed(this.#o.gatewayId), f.jobId).sadd(keys.followers, this.#o.gatewayId);
    await multi.exec();
  }

  async release(jobId: string): Promise<boolean> {
    return (await this.#o.redis.srem(this.#o.keys.followed(this.#o.gatewayId), jobId)) === 1;
  }

  async discard(jobId: string): Promise<void> {
    const { redis, keys } = this.#o;
    const sessionId = await redis.hget(keys.runMeta(jobId), RUN_META.sessionId);
    const multi = redis.multi().del(keys.runMeta(jobId), keys.runLog(jobId), keys.runControl(jobId), keys.runFiles(jobId)).srem(keys.followed(this.#o.gatewayId), jobId);
    if (sessionId) multi.srem(keys.roomRuns(sessionId), jobId);
    await multi.exec();
  }

  async finish(jobId: string, end: RunEnd, error?: Extract<RunEvent, { type: 'error' }>): Promise<boolean> {
    const { redis, keys } = this.#o;
    const sessionId = (await redis.hget(keys.runMeta(jobId), RUN_META.sessionId)) ?? undefined;
    return finishRun({ redis, keys, jobId }, { end, error, sessionId, finishedAt: this.#now(), retentionMs: this.#o.retentionMs });
  }

  async info(jobId: string): Promise<RunInfo | undefined> {
    const m = await this.#o.redis.hgetall(this.#o.keys.runMeta(jobId));
    return infoFromMeta(jobId, m);
  }

  async subscribe(jobId: string, subscriber: RunSubscriber): Promise<RunSubscription | undefined> {
    const { redis, keys } = this.#o;
    const watcher: Watcher = { subscriber, seenId: null, early: [] };
    // Watching before reading the replay: nothing appended in between is missed (duplicates are skipped by id).
    const follower = this.#follow(jobId);
    follower.watchers.add(watcher);
    const leave = (): void => this.#leave(jobId, watcher);
    const [meta, raw] = await Promise.all([redis.hgetall(keys.runMeta(jobId)), redis.xrange(keys.runLog(jobId), '-', '+')]);
    const info = infoFromMeta(jobId, meta);
    if (!info) {
      leave();
      return undefined;
    }
    const entries = raw.map(([id, flat]) => ({ id, fields: toFields(flat) }));
    const replay = messagesOf(entries);
    watcher.seenId = entries.at(-1)?.id ?? '0-0';
    const ended = replay.at(-1)?.type === 'end';
    if (ended) leave();
    const hello = { type: 'hello', protocolVersion: GATEWAY_PROTOCOL_VERSION, jobId, startedBy: info.startedBy, truncated: meta[RUN_META.truncated] === '1' } as const;
    // Live entries that came while the replay was read go out after it, on the next turn.
    if (!ended) setImmediate(() => this.#deliver(jobId, watcher, watcher.early.splice(0)));
    return { hello, replay, unsubscribe: leave };
  }

  async unfinished(roomId: string): Promise<string[]> {
    return this.#o.redis.smembers(this.#o.keys.roomRuns(roomId));
  }

  async takeFile(jobId: string, seq: number): Promise<FileEvent | undefined> {
    const key = this.#o.keys.runFiles(jobId);
    const replies = await this.#o.redis.multi().hget(key, String(seq)).hdel(key, String(seq)).exec();
    const raw = replies?.[0]?.[1];
    if (typeof raw !== 'string') return undefined;
    try {
      const parsed = fileEventSchema.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  /** Stops following every run (shutdown). */
  dispose(): void {
    for (const f of this.#followers.values()) f.stop();
    this.#followers.clear();
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  #follow(jobId: string): Follower {
    const existing = this.#followers.get(jobId);
    if (existing) return existing;
    const follower: Follower = { watchers: new Set(), stop: () => undefined };
    follower.stop = this.#o.tail.follow(this.#o.keys.runLog(jobId), '0-0', (entries) => {
      for (const w of [...follower.watchers]) {
        if (w.seenId === null) w.early.push(...entries);
        else this.#deliver(jobId, w, entries);
      }
      const ended = entries.some((e) => e.fields['k'] === 'end');
      if (ended) this.#followers.delete(jobId);
      return !ended;
    });
    this.#followers.set(jobId, follower);
    return follower;
  }

  #deliver(jobId: string, w: Watcher, entries: readonly StreamEntry[]): void {
    for (const e of entries) {
      if (w.seenId !== null && compareStreamIds(e.id, w.seenId) <= 0) continue;
      w.seenId = e.id;
      const msg = parseLogEntry(e);
      if (msg === null) continue;
      try {
        w.subscriber.send(msg);
      } catch (err) {
        this.#o.logger.warn('dropped a stream subscriber that failed', { jobId, error: String(err) });
        this.#leave(jobId, w);
        return;
      }
      if (msg.type === 'end') return this.#leave(jobId, w);
    }
  }

  #leave(jobId: string, w: Watcher): void {
    const f = this.#followers.get(jobId);
    if (!f || !f.watchers.delete(w)) return;
    if (f.watchers.size === 0) {
      f.stop();
      this.#followers.delete(jobId);
    }
  }
}

/** A run's meta HASH as {@link RunInfo}; undefined when it has expired. */
export function infoFromMeta(jobId: string, m: Record<string, string>): RunInfo | undefined {
  const state = fleetRunStateSchema.safeParse(m[RUN_META.state]);
  if (!state.success) return undefined;
  const rawOwner = m[RUN_META.owner];
  const rawEnd = m[RUN_META.end];
  const owner = rawOwner ? (JSON.parse(rawOwner) as RunOwner) : null;
  const end = rawEnd ? (JSON.parse(rawEnd) as StreamMessage) : null;
  return {
    jobId,
    sessionId: m[RUN_META.sessionId] || undefined,
    startedBy: m[RUN_META.startedBy] || null,
    owner,
    submittedAt: Number(m[RUN_META.submittedAt] ?? 0),
    state: state.data,
    end: end?.type === 'end' ? { status: end.status, code: end.code, message: end.message } : null,
    ...(m[RUN_META.terminal] === '1' ? { terminal: true } : {}),
  };
}

function messagesOf(entries: readonly StreamEntry[]): StreamMessage[] {
  const out: StreamMessage[] = [];
  for (const e of entries) {
    const m = parseLogEntry(e);
    if (m) out.push(m);
  }
  return out;
}
