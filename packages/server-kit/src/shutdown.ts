/**
 * Clean shutdown of a service on SIGINT/SIGTERM: run `stop` once, then exit
 * 0 (or 1 if stopping failed). A second signal while stopping is ignored.
 * @module
 */
import type { Logger } from './logger.js';

export function stopOnSignals(o: { logger: Logger; what: string; stop: () => Promise<void> }): void {
  let stopping = false;
  const handle = (sig: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    o.logger.info(`${sig}: stopping, ${o.what}`);
    o.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        o.logger.error('shutdown failed', { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}
