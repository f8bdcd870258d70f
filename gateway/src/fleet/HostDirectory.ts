/**
 * The sandbox hosts a gateway can send runs to: every host registers itself
 * in Redis (a HASH that expires HOST_TTL_MS after its last heartbeat) and
 * this reads them, with a short cache so a burst of runs costs one read.
 * @module
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { CodeCellError, hostRecordSchema } from '@codecell/protocol';
import type { FleetKeys, HostRecord } from '@codecell/protocol';
import type { SandboxRuntime } from '../runs/ports.js';

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

  /**
   * What the gateway's runtime list says in fleet mode (what `GET /runtimes`
   * of one sandbox says otherwise): the runtimes every live host's guest
   * image has, so a run lands where its language is, with the first host's
   * version. A host that does not report them (an older one) runs Python only.
   * @throws CodeCellError sandbox_unavailable when no host is registered
   */
  async runtimes(): Promise<SandboxRuntime[]> {
    const { live } = await this.hosts();
    if (live.length === 0) throw new CodeCellError('sandbox_unavailable', 'no sandbox host is registered in Redis; start one with the same REDIS_URL and REDIS_PREFIX');
    const lists = live.map((h) => runtimesOf(h));
    const [first, ...others] = lists;
    return Object.entries(first ?? {})
      .filter(([id]) => others.every((o) => o[id] !== undefined))
      .map(([id, version]) => ({ id, version }));
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

const versionsSchema = z.record(z.string(), z.string());

/** A host's runtimes (id → version) from its registration; Python alone for a host that does not say. */
function runtimesOf(h: HostRecord): Record<string, string> {
  if (h.runtimes === undefined) return { py: 'unknown' };
  try {
    const parsed = versionsSchema.safeParse(JSON.parse(h.runtimes));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}
