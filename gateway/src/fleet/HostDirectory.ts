/**
 * The sandbox hosts a gateway can send runs to: every host registers itself
 * in Redis (a HASH that expires HOST_TTL_MS after its last heartbeat) and
 * this reads them, with a short cache so a burst of runs costs one read.
 * @module
 */
import type { Redis } from 'ioredis';
import { hostRecordSchema } from '@codecell/protocol';
import type { FleetKeys, HostRecord } from '@codecell/protocol';

/** How long a read of the registrations is reused, ms. */
export const HOST_CACHE_MS = 250;

/** Options of {@link HostDirectory}. */
export interface HostDirectoryOptions {
  readonly redis: Redis;
  readonly keys: FleetKeys;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Hosts now: the live ones, and the ids of those whose registration expired (a host of another fleet protocol version is neither). */
export interface HostsNow {
  readonly live: readonly HostRecord[];
  readonly dead: readonly string[];
}

/** Reads host registrations. */
export class HostDirectory {
  readonly #o: HostDirectoryOptions;
  #cached: { at: number; hosts: Promise<HostsNow> } | null = null;

  constructor(options: HostDirectoryOptions) {
    this.#o = options;
  }

  /** The hosts (cached for {@link HOST_CACHE_MS}; `fresh` reads again). */
  hosts(fresh = false): Promise<HostsNow> {
    const now = (this.#o.now ?? Date.now)();
    if (!fresh && this.#cached && now - this.#cached.at < HOST_CACHE_MS) return this.#cached.hosts;
    const hosts = this.#read();
    this.#cached = { at: now, hosts };
    hosts.catch(() => (this.#cached = null));
    return hosts;
  }

  /** The live host `hostId`, or null when it is dead or unknown. */
  async get(hostId: string): Promise<HostRecord | null> {
    return (await this.hosts()).live.find((h) => h.hostId === hostId) ?? null;
  }

  async #read(): Promise<HostsNow> {
    const { redis, keys } = this.#o;
    const ids = await redis.smembers(keys.hosts);
    if (ids.length === 0) return { live: [], dead: [] };
    const pipe = redis.pipeline();
    for (const id of ids) pipe.hgetall(keys.host(id));
    const rows = (await pipe.exec()) ?? [];
    const live: HostRecord[] = [];
    const dead: string[] = [];
    ids.forEach((id, i) => {
      const row = rows[i]?.[1];
      const parsed = hostRecordSchema.safeParse(row);
      if (parsed.success) live.push(parsed.data);
      else if (row === null || row === undefined || Object.keys(row).length === 0) dead.push(id);
    });
    return { live, dead };
  }
}
