/**
 * @codecell/redis-kit: what gateways and sandbox hosts share to talk through
 * Redis in fleet mode (the wire shapes themselves are in @codecell/protocol).
 * @module
 */
export { connectRedis, evalScript, readHash, closeRedis, redisAddress, settleWithin, REDIS_MAX_RECONNECT_DELAY_MS } from './connect.js';
export type { ConnectRedisOptions, RedisAddress } from './connect.js';
export { StreamTail, TAIL_BLOCK_MS, toFields } from './StreamTail.js';
export type { StreamEntry, OnEntries, StreamTailOptions } from './StreamTail.js';
export { EventWriter, appendQueued, finishRun, parseLogEntry } from './runLog.js';
export type { RunEnd, RunLogTarget, FinishRun } from './runLog.js';
export { withRedisLock } from './lock.js';
export type { RedisLockOptions } from './lock.js';
