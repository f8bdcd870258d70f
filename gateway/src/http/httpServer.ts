/**
 * One HTTP server of the gateway with the protections every one of them has
 * (the main PORT, and PISTON_PORT / JUDGE0_PORT when set): the Host
 * allow-list on every request and upgrade (X1), the Origin check and the
 * per-address WebSocket cap on every upgrade (X2, B4), the per-address TCP
 * connection cap and the header and request timeouts (B4), and one error
 * handler for whatever a handler throws.
 * @module
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { ERROR_CODE_TABLE } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { GatewayConfig } from '../config.js';
import type { AddressCounter } from './AddressCounter.js';
import { clientAddress, isLoopbackHost } from './hosts.js';
import type { CrossSitePolicy, Refusal } from './hosts.js';
import { refuseUpgrade } from './refuseUpgrade.js';

/** Handler for one kind of WebSocket upgrade (routed by the first path segment). */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Options of {@link createGatewayHttpServer}. */
export interface GatewayHttpServerOptions {
  readonly config: GatewayConfig;
  readonly policy: CrossSitePolicy;
  readonly logger: Logger;
  /** Answers a request whose Host was accepted. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** Upgrade handlers by the path's first segment. */
  readonly upgrades: ReadonlyMap<string, UpgradeHandler>;
  /** The WebSocket cap per address (MAX_WS_PER_ADDRESS), shared by the gateway's servers. */
  readonly wsPerAddress: AddressCounter;
  /** The TCP connection cap per address (MAX_CONNECTIONS_PER_ADDRESS), shared by the gateway's servers. */
  readonly connectionsPerAddress: AddressCounter;
  /** Answers a request refused by the Host check, in the format of the API it was for. @default {@link refuseHttp} */
  readonly refuse?: (req: IncomingMessage, res: ServerResponse, refusal: Refusal) => void;
}

/** Creates the server (not listening yet). */
export function createGatewayHttpServer(o: GatewayHttpServerOptions): Server {
  const { config, policy, logger } = o;
  const server = createServer(
    {
      headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
      // Slow clients are found by this sweep; the default (30 s) would let them linger.
      connectionsCheckingInterval: Math.min(1_000, Math.ceil(config.HTTP_HEADERS_TIMEOUT_MS / 2)),
    },
    (req, res) => {
      const refusal = policy.checkHost(req);
      if (refusal) return (o.refuse ?? ((_req, r, f) => refuseHttp(r, f)))(req, res, refusal);
      o.handle(req, res).catch((err: unknown) => {
        logger.error('request failed', { url: req.url, error: String(err) });
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { code: 'internal_error', message: 'internal error' } }));
        else res.destroy();
      });
    },
  );
  limitConnections(server, { trustProxy: config.TRUST_PROXY, perAddress: o.connectionsPerAddress });
  const { wsPerAddress } = o;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', (err) => logger.debug('upgrade socket error', { error: err.message }));
    const refusal = policy.checkHost(req) ?? policy.checkOrigin(req);
    if (refusal) return refuseUpgrade(socket, ERROR_CODE_TABLE[refusal.code].http, refusal.message);
    const address = clientAddress(req, config.TRUST_PROXY);
    if (!wsPerAddress.acquire(address)) {
      return refuseUpgrade(socket, 429, `${wsPerAddress.max} WebSocket connections from your address are open already (MAX_WS_PER_ADDRESS); close some`);
    }
    socket.once('close', () => wsPerAddress.release(address));
    const handler = o.upgrades.get(new URL(req.url ?? '/', 'http://x').pathname.split('/')[1] ?? '');
    if (!handler) return refuseUpgrade(socket, 404, 'not found');
    handler(req, socket, head);
  });
  return server;
}

/** Listens on `port` and `host`; resolves with the `http://host:port` URL actually bound. */
export async function listenHttp(server: Server, o: { port: number; host: string }): Promise<{ url: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  return { url: `http://${host}:${address.port}`, port: address.port };
}

/** Drops TCP connections beyond MAX_CONNECTIONS_PER_ADDRESS (a trusted proxy's own address is not capped). */
function limitConnections(server: Server, o: { trustProxy: boolean; perAddress: AddressCounter }): void {
  const { perAddress } = o;
  server.on('connection', (socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    if (o.trustProxy && isLoopbackHost(address)) return;
    if (!perAddress.acquire(address)) return void socket.destroy();
    socket.once('close', () => perAddress.release(address));
  });
}

/** Answers a refused request with the gateway's error body. */
export function refuseHttp(res: ServerResponse, r: Refusal): void {
  res.writeHead(ERROR_CODE_TABLE[r.code].http, { 'Content-Type': 'application/json; charset=utf-8', Connection: 'close' });
  res.end(JSON.stringify({ error: { code: r.code, message: r.message } }));
}
