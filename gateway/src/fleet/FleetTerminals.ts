/**
 * The rooms' terminal sessions in a fleet (REDIS_URL): the room's session of
 * each program is an entry of the room's `roomTerminals` hash, which any
 * gateway reads, so two members on two gateways share one shell. Opening
 * claims the entry atomically (an entry whose run finished or expired is
 * free again, and so is one whose host left the fleet; a host whose
 * registration lapsed while Redis restarted still holds it) and queues the
 * session on the host that holds the room's VM (session affinity), in that
 * host's terminal queue, which takes no run slot.
 * Every opening appends to the room's changes stream; gateways with
 * watchers of the room tail it, one tail per room.
 * @module
 */
import type { Redis } from 'ioredis';
import { FLEET_SCRIPTS, roomTerminalEntrySchema } from '@codecell/protocol';
import type { FleetKeys, OpenTerminal, TerminalRequest } from '@codecell/protocol';
import { evalScript } from '@codecell/redis-kit';
import type { StreamTail } from '@codecell/redis-kit';
import type { Logger } from '@codecell/server-kit';
import type { OpenedTerminal, RunFacts, RunLogPort, TerminalPort } from '../runs/ports.js';
import type { RedisRunQueue } from './RedisRunQueue.js';
import { UNFINISHED_RUN_TTL_MS } from './RedisRunLog.js';

/** Options of {@link FleetTerminals}. */
export interface FleetTerminalsOptions {
  readonly redis: Redis;
  readonly keys: FleetKeys;
  readonly tail: StreamTail;
  readonly log: RunLogPort;
  readonly queue: RedisRunQueue;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * How long a session no host took yet counts as open, ms: hosts take sessions
 * at once, so an older one was lost (its gateway died before queueing it, its
 * host before taking it). The scripts' `TERMINAL_OPEN` is told it.
 */
export const CLAIM_UNQUEUED_MS = 60_000;

/** Terminal sessions shared through Redis. */
export class FleetTerminals implements TerminalPort {
  readonly #o: FleetTerminalsOptions;
  /** Rooms watched by this gateway: their watchers and how to stop tailing. */
  readonly #watched = new Map<string, { readonly watchers: Set<() => void>; readonly stop: () => void }>();

  constructor(options: FleetTerminalsOptions) {
    this.#o = options;
  }

  async open({ facts, request }: { readonly facts: RunFacts; readonly request: TerminalRequest }): Promise<OpenedTerminal> {
    const { log, queue } = this.#o;
    const mine: OpenTerminal = { program: request.program, jobId: facts.jobId, startedBy: facts.startedBy };
    // The log first: a claimed entry always names a run whose state says whether it is open.
    await log.open(facts);
    let holder: OpenTerminal;
    try {
      holder = await this.#claim(request.sessionId, mine);
    } catch (err) {
      await log.discard(facts.jobId).catch(() => undefined);
      throw err;
    }
    if (holder.jobId !== facts.jobId) {
      await log.discard(facts.jobId);
      return { session: holder, started: false };
    }
    try {
      const hostId = await queue.enqueueTerminal({ facts, request });
      this.#o.logger.debug('terminal session queued', { jobId: facts.jobId, hostId, roomId: request.sessionId, program: request.program });
    } catch (err) {
      await this.#release(request.sessionId, mine).catch(() => undefined);
      await log.discard(facts.jobId).catch(() => undefined);
      throw err;
    }
    return { session: mine, started: true };
  }

  async list(roomId: string): Promise<OpenTerminal[]> {
    const open = await evalScript(this.#o.redis, { script: FLEET_SCRIPTS.listTerminals, keys: [this.#o.keys.roomTerminals(roomId)], args: this.#openArgs() });
    // An entry that is not open stays until the next opening replaces it.
    const entries = (Array.isArray(open) ? open : []).flatMap((json) => (typeof json === 'string' ? (parseEntry(json) ?? []) : []));
    return entries.sort((a, b) => a.program.localeCompare(b.program));
  }

  /** What `TERMINAL_OPEN` reads (see fleetScripts.ts). */
  #openArgs(): string[] {
    const { keys } = this.#o;
    return [keys.runMeta(''), keys.host(''), String(this.#now()), String(CLAIM_UNQUEUED_MS), keys.hosts];
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  watch(roomId: string, onChange: () => void): () => void {
    let room = this.#watched.get(roomId);
    if (!room) {
      const watchers = new Set<() => void>();
      const stop = this.#o.tail.follow(this.#o.keys.roomTerminalChanges(roomId), '0-0', () => {
        for (const w of [...watchers]) w();
        return true;
      });
      room = { watchers, stop };
      this.#watched.set(roomId, room);
    }
    const watched = room;
    const w = (): void => {
      try {
        onChange();
      } catch (err) {
        this.#o.logger.warn('a terminals watcher failed', { roomId, error: String(err) });
      }
    };
    watched.watchers.add(w);
    return () => {
      watched.watchers.delete(w);
      if (watched.watchers.size > 0 || this.#watched.get(roomId) !== watched) return;
      watched.stop();
      this.#watched.delete(roomId);
    };
  }

  /** Stops tailing every room. */
  dispose(): void {
    for (const room of this.#watched.values()) room.stop();
    this.#watched.clear();
  }

  /** The entry that holds the program now: `mine`, or an open one of another run. */
  async #claim(roomId: string, mine: OpenTerminal): Promise<OpenTerminal> {
    const { redis, keys } = this.#o;
    const held = await evalScript(redis, {
      script: FLEET_SCRIPTS.claimTerminal,
      keys: [keys.roomTerminals(roomId), keys.roomTerminalChanges(roomId)],
      args: [mine.program, JSON.stringify(mine), String(UNFINISHED_RUN_TTL_MS), ...this.#openArgs()],
    });
    return (typeof held === 'string' ? parseEntry(held) : null) ?? mine;
  }

  async #release(roomId: string, mine: OpenTerminal): Promise<void> {
    const { redis, keys } = this.#o;
    await evalScript(redis, { script: FLEET_SCRIPTS.releaseTerminal, keys: [keys.roomTerminals(roomId), keys.roomTerminalChanges(roomId)], args: [mine.program, mine.jobId] });
  }
}

function parseEntry(json: string): OpenTerminal | null {
  try {
    const parsed = roomTerminalEntrySchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
