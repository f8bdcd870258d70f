/**
 * Connecting to a Unix socket that a just-spawned process has not bound yet.
 * @module
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Poll interval while a socket path does not accept connections yet. */
export const CONNECT_RETRY_MS = 5;

/**
 * Connects to `path`, retrying while it is missing or refuses, until the
 * deadline or the signal. `alive()` stops the retries early when the owning
 * process has died.
 */
export async function connectWithRetry(opts: {
  path: string;
  timeoutMs: number;
  signal?: AbortSignal;
  alive?: () => boolean;
}): Promise<Socket> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    opts.signal?.throwIfAborted();
    if (opts.alive && !opts.alive()) throw new Error(`process owning ${opts.path} exited`, { cause: lastError });
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const sock = connect(opts.path);
        sock.once('connect', () => {
          sock.removeAllListeners('error');
          resolve(sock);
        });
        sock.once('error', (err) => {
          sock.destroy();
          reject(err);
        });
      });
    } catch (err) {
      lastError = err;
      if (Date.now() >= deadline) {
        throw new Error(`could not connect to ${opts.path} within ${opts.timeoutMs} ms: ${String(err)}`, { cause: err });
      }
      await sleep(CONNECT_RETRY_MS, undefined, { signal: opts.signal });
    }
  }
}
