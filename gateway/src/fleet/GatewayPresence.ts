/**
 * Each gateway of a fleet says it is there (the `gateways` hash, one JSON
 * entry per gateway, refreshed every GATEWAY_HEARTBEAT_MS), so `/healthz` of
 * any process reports its peers. Entries older than GATEWAY_TTL_MS are
 * left out and swept.
 * @module
 */
import type { Redis } from 'ioredis';
import { GATEWAY_HEARTBEAT_MS, GATEWAY_TTL_MS, gatewayRecordSchema } from '@codecell/protocol';
import type { FleetKeys, GatewayRecord } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';

/** Options of {@link GatewayPresence}. */
export interface GatewayPresenceOptions {
  readonly redis: Redis;
  readonly keys: FleetKeys;
  readonly logger: Logger;
  /** This gateway's entry as of now (without `heartbeatAt`). */
  readonly record: () => Omit<GatewayRecord, 'heartbeatAt'>;
  /** @default Date.now */
  readonly now?: () => number;
}

/** This gateway's entry, and everyone's. */
export class GatewayPresence {
  readonly #o: GatewayPresenceOptions;
  #timer: NodeJS.Timeout | null = null;

  constructor(options: GatewayPresenceOptions) {
    this.#o = options;
  }

  /** Writes the entry now and every heartbeat. */
  start(): void {
    void this.beat();
    this.#timer = setInterval(() => void this.beat(), GATEWAY_HEARTBEAT_MS);
    this.#timer.unref();
  }

  /** Writes the entry; never throws. */
  async beat(): Promise<void> {
    const r: GatewayRecord = { ...this.#o.record(), heartbeatAt: this.#now() };
    await this.#o.redis.hset(this.#o.keys.gateways, r.gatewayId, JSON.stringify(r)).catch((err: unknown) => this.#o.logger.debug('could not refresh the gateway entry', { error: String(err) }));
  }

  /** The gateways heard from within GATEWAY_TTL_MS (stale entries are removed). */
  async list(): Promise<GatewayRecord[]> {
    const all = await this.#o.redis.hgetall(this.#o.keys.gateways);
    const now = this.#now();
    const live: GatewayRecord[] = [];
    const stale: string[] = [];
    for (const [id, json] of Object.entries(all)) {
      const parsed = safeJson(json);
      const r = gatewayRecordSchema.safeParse(parsed);
      if (r.success && now - r.data.heartbeatAt <= GATEWAY_TTL_MS) live.push(r.data);
      else if (!r.success || now - r.data.heartbeatAt > 4 * GATEWAY_TTL_MS) stale.push(id);
    }
    if (stale.length > 0) await this.#o.redis.hdel(this.#o.keys.gateways, ...stale);
    return live.sort((a, b) => a.gatewayId.localeCompare(b.gatewayId));
  }

  /** Stops refreshing and removes the entry. */
  async dispose(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#o.redis.hdel(this.#o.keys.gateways, this.#o.record().gatewayId).catch(() => undefined);
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return null;
  }
}
