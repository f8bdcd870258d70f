/**
 * The sandbox service's entry point: `POST /run` on :5000 (SANDBOX_PORT).
 * The only composition root; stops cleanly on SIGINT/SIGTERM.
 * @module
 */
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config.js';
import { createLogger, describeEnvFile, loadServiceEnvFile, stopOnSignals } from '@codecell/server-kit';
import type { EnvFileResult } from '@codecell/server-kit';
import { FleetHost } from '../fleet/FleetHost.js';
import { createSandbox } from './createSandbox.js';

/** `sandbox/.env`, read at start when present (SANDBOX_ENV_FILE names another file). */
const SANDBOX_ENV_FILE = fileURLToPath(new URL('../../.env', import.meta.url));

async function main(): Promise<void> {
  let config;
  let envFile: EnvFileResult | null;
  try {
    // Before the config: the file fills in what the environment does not set.
    envFile = loadServiceEnvFile({ defaultPath: SANDBOX_ENV_FILE, overrideVar: 'SANDBOX_ENV_FILE', env: process.env });
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger('sandbox', config.LOG_LEVEL);
  if (envFile) logger.info(describeEnvFile(envFile));
  const sandbox = await createSandbox(config, logger);
  let fleet: FleetHost | null = null;
  stopOnSignals({
    logger,
    what: config.REDIS_URL === undefined ? 'destroying every VM' : 'draining (no new runs; runs in progress finish), then destroying every VM',
    stop: async () => {
      // Fleet mode: leave the fleet gracefully first, so no run is cut off that could finish.
      if (fleet) await fleet.drain(config.DRAIN_TIMEOUT_MS);
      await sandbox.dispose();
      await fleet?.dispose();
    },
  });
  const where = config.SANDBOX_SOCKET ?? `${config.SANDBOX_HOST}:${config.SANDBOX_PORT}`;
  try {
    if (config.SANDBOX_SOCKET !== undefined) await sandbox.listenSocket(config.SANDBOX_SOCKET);
    else await sandbox.listen(config.SANDBOX_PORT, config.SANDBOX_HOST);
  } catch (err) {
    logger.error(`cannot listen on ${where}: ${(err as Error).message}`);
    await sandbox.dispose();
    process.exit(1);
  }
  logger.info(`sandbox listening on ${sandbox.url()}`, { pool: sandbox.pool.stats() });
  if (config.REDIS_URL !== undefined) {
    fleet = await FleetHost.start({
      redisUrl: config.REDIS_URL,
      prefix: config.REDIS_PREFIX,
      hostId: config.SANDBOX_HOST_ID,
      runner: sandbox.runner,
      logger,
      sessionTtlMs: config.SESSION_IDLE_MS,
    });
    const host = fleet;
    sandbox.reportFleet(() => host.health());
    logger.info(`sandbox host ${fleet.hostId} takes runs from Redis`, { prefix: config.REDIS_PREFIX });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
