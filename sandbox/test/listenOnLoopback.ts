/**
 * Test helper: listens a sandbox HTTP server on a free loopback port and
 * registers its teardown (connections closed, server closed, then `dispose`).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Resolves with the port; `cleanups` gets the teardown. */
export async function listenOnLoopback(server: Server, cleanups: Array<() => Promise<void> | void>, dispose: () => Promise<void>): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await dispose();
  });
  return (server.address() as AddressInfo).port;
}
