/**
 * The gateway's entry point: tRPC, run streams and the frontend on :4000 (PORT).
 * The only composition root; stops cleanly on SIGINT/SIGTERM.
 * @module
 */
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from './config.js';
import type { GatewayConfig } from './config.js';
import { EnvFileError, createLogger, describeEnvFile, loadServiceEnvFile, stopOnSignals } from '@codecell/server-kit';
import type { EnvFileResult } from '@codecell/server-kit';
import { createGateway } from './server.js';

/** `gateway/.env`, read at start when present (GATEWAY_ENV_FILE names another file). */
const GATEWAY_ENV_FILE = fileURLToPath(new URL('../.env', import.meta.url));

async function main(): Promise<void> {
  let config: GatewayConfig;
  let envFile: EnvFileResult | null;
  try {
    // Before the config: the file fills in what the environment does not set.
    envFile = loadServiceEnvFile({ defaultPath: GATEWAY_ENV_FILE, overrideVar: 'GATEWAY_ENV_FILE', env: process.env });
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError || err instanceof EnvFileError ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const logger = createLogger('gateway', config.LOG_LEVEL);
  if (envFile) logger.info(describeEnvFile(envFile));
  let gateway;
  try {
    gateway = await createGateway(config, logger);
  } catch (err) {
    logger.error(`cannot listen on ${config.HOST}:${config.PORT}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  stopOnSignals({ logger, what: 'closing streams and ending runs', stop: () => gateway.close() });
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
