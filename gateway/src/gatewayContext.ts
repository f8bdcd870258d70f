/**
 * What the gateway says of itself: its peers' health (the sandbox, or in
 * fleet mode Redis and the sandbox hosts; the database). The runtime list is
 * RuntimeCatalog's.
 * @module
 */
import { toCodeCellError } from '@codecell/protocol';
import type { GatewayFleet } from './fleet/GatewayFleet.js';
import type { SandboxApi } from './sandboxClient.js';
import type { GatewayStorage } from './storage.js';
import type { GatewayHealth } from './trpc/context.js';

/** The gateway's version (gateway/package.json), as Judge0's `/about` reports it. */
export const GATEWAY_VERSION = '0.1.0';

/** How long `health` waits for the sandbox before reporting it unreachable. */
export const HEALTH_TIMEOUT_MS = 2_000;

/** What {@link checkHealth} asks. */
export interface HealthSources {
  readonly sandbox: SandboxApi;
  /** Fleet mode: Redis and the registered hosts instead of one sandbox. */
  readonly fleet: GatewayFleet | null;
  readonly storage: GatewayStorage;
  readonly gatewayId: string;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Asks the sandbox (embedded) or Redis and the sandbox hosts (fleet) for
 * their health, and the database; never throws. `ok` is true when a run
 * submitted now can start: the database answers and a sandbox (host) is ready.
 */
export async function checkHealth(o: HealthSources): Promise<GatewayHealth> {
  const databaseP = o.storage.ping();
  if (o.fleet) {
    const [fleet, database] = await Promise.all([o.fleet.peers(), databaseP]);
    const open = fleet.hosts.filter((h) => !h.draining);
    const message = !fleet.redis.ok
      ? `Redis does not answer: ${fleet.redis.message ?? 'unknown error'}`
      : open.length === 0
        ? 'no sandbox host is registered (or every one drains); start one with the same REDIS_URL and REDIS_PREFIX'
        : !database.ok
          ? `the database does not answer: ${database.message ?? 'unknown error'}`
          : null;
    return { ok: message === null, sandbox: null, message, gatewayId: o.gatewayId, database, fleet };
  }
  const timeout = AbortSignal.timeout(HEALTH_TIMEOUT_MS);
  const database = await databaseP;
  try {
    const h = await o.sandbox.health(o.signal ? AbortSignal.any([o.signal, timeout]) : timeout);
    if (h.ok && h.ready && database.ok) return { ok: true, sandbox: h, message: null, gatewayId: o.gatewayId, database, fleet: null };
    const message = !database.ok ? `the database does not answer: ${database.message ?? ''}` : h.ok ? 'the sandbox is still starting its warm VM pool; runs will wait' : 'the sandbox reports a problem';
    return { ok: false, sandbox: h, message, gatewayId: o.gatewayId, database, fleet: null };
  } catch (err) {
    const message = timeout.aborted ? `the sandbox did not answer within ${HEALTH_TIMEOUT_MS} ms` : toCodeCellError(err).message;
    return { ok: false, sandbox: null, message, gatewayId: o.gatewayId, database, fleet: null };
  }
}
