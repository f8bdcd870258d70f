/**
 * A TCP proxy for tests that stands in for a reverse proxy in front of
 * several gateways: each new connection goes to the first backend that
 * accepts it, so when one gateway dies its clients reconnect through the
 * next one with the URL they had.
 * @module
 */
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

/** A running proxy. */
export interface FailoverProxy extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Which backend each connection went to, in order. */
  readonly routed: string[];
  close(): Promise<void>;
}

/** Proxies to `backends` (`http://host:port` URLs), first that answers wins. */
export async function startFailoverProxy(backends: readonly string[]): Promise<FailoverProxy> {
  const sockets = new Set<Socket>();
  const routed: string[] = [];
  const tryBackend = (client: Socket, i: number): void => {
    const target = backends[i];
    if (target === undefined) return void client.destroy();
    const u = new URL(target);
    const upstream = connect({ host: u.hostname, port: Number(u.port) });
    let connected = false;
    sockets.add(upstream);
    upstream.once('connect', () => {
      connected = true;
      routed.push(target);
      client.pipe(upstream).pipe(client);
      client.resume();
    });
    upstream.on('error', () => undefined);
    upstream.once('close', () => {
      sockets.delete(upstream);
      // Refused: try the next backend; cut off later: the client reconnects (and lands on the next live one).
      if (connected) client.destroy();
      else tryBackend(client, i + 1);
    });
  };
  const server = createServer({ pauseOnConnect: true }, (client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    client.once('close', () => sockets.delete(client));
    tryBackend(client, 0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, routed, close, [Symbol.asyncDispose]: close };
}
