/**
 * The gateway's entry point: tRPC, run streams and the frontend on :4000 (PORT).
 * The only composition root; stops cleanly on SIGINT/SIGTERM.
 * @module
 */
import { ConfigError, loadConfig } from './config.js';
import type { GatewayConfig } from './config.js';
import { createLogger, stopOnSignals } from '@codecell/server-kit';
import { createGateway } from './server.js';

async function main(): Promise<void> {
  let config: GatewayConfig;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const logger = createLogger('gateway', config.LOG_LEVEL);
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
