/**
 * Hocuspocus's Redis extension, set up for a fleet: rooms of this gateway
 * exchange their updates and awareness (cursors, selections) with the same
 * rooms on every other gateway through Redis pub/sub, under the fleet's
 * prefix. It opens its own two connections (its ioredis is its own).
 * @module
 */
import { Redis as CollabRedis } from '@hocuspocus/extension-redis';
import { REDIS_MAX_RECONNECT_DELAY_MS, redisAddress } from '@codecell/redis-kit';

/** Options of {@link createCollabRedis}. */
export interface CollabRedisOptions {
  /** REDIS_URL */
  readonly url: string;
  /** REDIS_PREFIX */
  readonly prefix: string;
  /** GATEWAY_ID: messages from this gateway are not applied back to it. */
  readonly gatewayId: string;
}

/** The extension (CollabService puts it after persistence). */
export function createCollabRedis(o: CollabRedisOptions): CollabRedis {
  const { host, port, ...rest } = redisAddress(o.url);
  return new CollabRedis({
    host: host ?? '127.0.0.1',
    port: port ?? 6379,
    options: {
      ...rest,
      connectionName: `codecell-gateway-${o.gatewayId}-collab`,
      maxRetriesPerRequest: null,
      retryStrategy: (times: number) => Math.min(50 * times, REDIS_MAX_RECONNECT_DELAY_MS),
    },
    prefix: `${o.prefix}:collab`,
    identifier: `${o.gatewayId}-${process.pid}`,
  });
}
