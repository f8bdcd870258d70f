/**
 * A sandbox host's registration in Redis (fleet mode): a HASH that says what
 * it holds and how much it can take, refreshed every HOST_HEARTBEAT_MS and
 * expiring HOST_TTL_MS after the last refresh, so a host that dies drops out
 * by itself. Gateways read it to place runs; the host id stays in the
 * `hosts` set until a gateway has dealt with what the host left behind.
 * @module
 */
import type { Redis } from 'ioredis';
import { FLEET_PROTOCOL_VERSION, HOST_HEARTBEAT_MS, HOST_TTL_MS } from '@codecell/protocol';
import type { FleetKeys, RuntimeId } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';

/** What a host reports of itself. */
export interface HostStats {
  /** Runs it executes at once (MAX_CONCURRENT_RUNS). */
  readonly capacity: number;
  /** Runs it is executing or starting. */
  readonly active: number;
  readonly sessions: number;
  readonly idleVms: number;
  readonly startingVms: number;
  readonly guestMemoryMb: number;
  readonly maxGuestMemoryMb: number;
  /** Its warm pool is ready. */
  readonly ready: boolean;
  /** Its guest image's runtimes and their versions. */
  readonly runtimes?: Readonly<Partial<Record<RuntimeId, string>>>;
}

/** Options of {@link HostRegistration}. */
export interface HostRegistrationOptions {
  readonly redis: Redis;
  readonly keys: FleetKeys;
  readonly hostId: string;
  readonly stats: () => HostStats;
  readonly logger: Logger;
  /** @default HOST_HEARTBEAT_MS */
  readonly heartbeatMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Keeps one host registered while it lives. */
export class HostRegistration {
  readonly #o: HostRegistrationOptions;
  readonly #startedAt: number;
  #timer: NodeJS.Timeout | null = null;
  #draining = false;
  #closed = false;
  #lastBeatAt: number | null = null;

  constructor(options: HostRegistrationOptions) {
    this.#o = options;
    this.#startedAt = this.#now();
  }

  /** Registers now and then every heartbeat. */
  async start(): Promise<void> {
    await this.beat();
    this.#timer = setInterval(() => void this.beat().catch((err: unknown) => this.#o.logger.warn('could not refresh the host registration', { error: String(err) })), this.#o.heartbeatMs ?? HOST_HEARTBEAT_MS);
    this.#timer.unref();
  }

  /** Epoch ms of the last registration Redis accepted, or null. */
  get lastBeatAt(): number | null {
    return this.#lastBeatAt;
  }

  /** Says (at once) that the host takes no more runs. */
  async setDraining(): Promise<void> {
    this.#draining = true;
    await this.beat();
  }

  /** Writes the registration. */
  async beat(): Promise<void> {
    if (this.#closed) return;
    const { redis, keys, hostId } = this.#o;
    const s = this.#o.stats();
    const key = keys.host(hostId);
    const at = this.#now();
    await redis
      .multi()
      .hset(key, {
        hostId,
        v: String(FLEET_PROTOCOL_VERSION),
        capacity: String(s.capacity),
        active: String(s.active),
        sessions: String(s.sessions),
        idleVms: String(s.idleVms),
        startingVms: String(s.startingVms),
        guestMemoryMb: String(s.guestMemoryMb),
        maxGuestMemoryMb: String(s.maxGuestMemoryMb),
        draining: this.#draining ? '1' : '0',
        ready: s.ready ? '1' : '0',
        startedAt: String(this.#startedAt),
        heartbeatAt: String(at),
        ...(s.runtimes ? { runtimes: JSON.stringify(s.runtimes) } : {}),
      })
      .pexpire(key, HOST_TTL_MS)
      .sadd(keys.hosts, hostId)
      .exec();
    this.#lastBeatAt = at;
  }

  /** Stops refreshing, leaving the registration to expire (what a host that was killed leaves). */
  halt(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
  }

  /** Stops refreshing and removes the registration (gateways then move what waits in its queue). Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#o.redis.del(this.#o.keys.host(this.#o.hostId));
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}
