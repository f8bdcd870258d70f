/**
 * Test support: real servers a test starts for itself and stops afterwards
 * (Redis, PostgreSQL), never a shared service. Imported as `@codecell/server-kit/test`.
 * @module
 */
export { spawnOwned, waitUntil } from './childProcess.js';
export type { OwnedProcess } from './childProcess.js';
export { startTestRedis, REDIS_SERVER_BIN } from './redisServer.js';
export type { TestRedis } from './redisServer.js';
export { startTestPostgres, postgresBinDir, TEST_PG_USER } from './postgresServer.js';
export type { TestPostgres } from './postgresServer.js';
