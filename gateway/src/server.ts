/**
 * The gateway's HTTP server: `/trpc/*` (tRPC), `ws /stream/<jobId>`,
 * `ws /collab` (Hocuspocus rooms), `GET /healthz`, and the built frontend. {@link createGateway} wires the parts;
 * tests start it on port 0.
 * @module
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { CollabServer } from './collab/CollabServer.js';
import { CollabService } from './collab/CollabService.js';
import type { GatewayConfig } from './config.js';
import { checkHealth, createGatewayContext } from './gatewayContext.js';
import { applyCors } from './http/cors.js';
import { serveStatic } from './http/staticFiles.js';
import type { Logger } from '@codecell/server-kit';
import { RunManager } from './runs/RunManager.js';
import { SandboxClient } from './sandboxClient.js';
import { StreamServer } from './stream/StreamServer.js';
import { appRouter } from './trpc/router.js';

/** Largest tRPC request body (a room's files plus stdin). */
export const MAX_TRPC_BODY_BYTES = 16 * 1024 * 1024;

/** A running gateway. Dispose it (or `await using` it) to stop. */
export interface Gateway extends AsyncDisposable {
  readonly server: Server;
  readonly runs: RunManager;
  readonly streams: StreamServer;
  readonly sandbox: SandboxClient;
  readonly collab: CollabService;
  /** The port actually bound (useful with PORT=0). */
  readonly port: number;
  /** `http://host:port` */
  readonly url: string;
  /**
   * Closes sockets, ends runs (the sandbox kills them; their rooms record it),
   * stores every room and closes SQLite, and stops listening. Safe to call twice.
   */
  close(): Promise<void>;
}

/** Test hooks and overrides of {@link createGateway}. */
export interface GatewayOverrides {
  /** Stream ping interval, ms. */
  readonly pingIntervalMs?: number;
}

/** Handler for one kind of WebSocket upgrade (routed by the first path segment). */
type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * Creates the gateway and listens on `config.PORT` / `config.HOST`.
 * @example
 * await using gw = await createGateway(loadConfig({ PORT: '0' }), silentLogger);
 * const res = await fetch(`${gw.url}/healthz`);
 */
export async function createGateway(config: GatewayConfig, logger: Logger, overrides: GatewayOverrides = {}): Promise<Gateway> {
  const sandbox = new SandboxClient({ baseUrl: config.SANDBOX_ADDR, token: config.SANDBOX_TOKEN, tokenFile: config.SANDBOX_TOKEN_FILE });
  const collab = new CollabService({
    dbPath: config.COLLAB_DB,
    maxRoomBytes: config.MAX_ROOM_BYTES,
    maxRoomFiles: config.MAX_ROOM_FILES,
    logger,
  });
  const runs = new RunManager({
    onRunUpdate: collab.onRunUpdate,
    sandbox,
    logger,
    defaults: { timeoutMs: config.RUN_TIMEOUT_MS, memoryMb: config.MAX_MEM_MB, vcpus: config.MAX_VCPUS },
    maxConcurrent: config.MAX_CONCURRENT_RUNS,
    maxQueued: config.MAX_QUEUED_RUNS,
    replayBytes: config.STREAM_REPLAY_BYTES,
    retentionMs: config.RUN_RETENTION_MS,
  });
  const streams = new StreamServer({
    runs,
    logger,
    maxBufferedBytes: config.STREAM_MAX_BUFFERED_BYTES,
    ...(overrides.pingIntervalMs === undefined ? {} : { pingIntervalMs: overrides.pingIntervalMs }),
  });
  const collabServer = new CollabServer({
    collab,
    logger,
    // Room-sized updates reach the MAX_ROOM_BYTES check; anything larger is cut off by ws.
    maxPayloadBytes: 2 * config.MAX_ROOM_BYTES + 1024 * 1024,
    allowedOrigins: config.CORS_ORIGINS,
  });
  const context = createGatewayContext(runs, sandbox, collab);
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    maxBodySize: MAX_TRPC_BODY_BYTES,
    createContext: () => context,
    onError: ({ error, path }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') logger.error('tRPC call failed', { path, error: String(error.cause ?? error) });
    },
  });
  const frontendDist = findFrontendDist(config);
  if (frontendDist && !existsSync(join(frontendDist, 'index.html'))) {
    logger.warn(`FRONTEND_DIST=${frontendDist} has no index.html; build the frontend (npm run build -w frontend) or unset FRONTEND_DIST`);
  }

  // Upgrades are routed by the first path segment.
  const upgrades = new Map<string, UpgradeHandler>([
    ['stream', (req, socket, head) => streams.handleUpgrade(req, socket, head)],
    ['collab', (req, socket, head) => collabServer.handleUpgrade(req, socket, head)],
  ]);

  const server = createServer((req, res) => {
    handleRequest({ req, res, config, trpc, frontendDist, health: (signal) => checkHealth(sandbox, signal) }).catch((err: unknown) => {
      logger.error('request failed', { url: req.url, error: String(err) });
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { code: 'internal_error', message: 'internal error' } }));
      else res.destroy();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', (err) => logger.debug('upgrade socket error', { error: err.message }));
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const handler = upgrades.get(path.split('/')[1] ?? '');
    if (!handler) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nnot found\n');
      return;
    }
    handler(req, socket, head);
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.PORT, config.HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await Promise.allSettled([streams.dispose(), runs.dispose(), collab.dispose()]);
    sandbox.dispose();
    throw err;
  }
  const address = server.address() as AddressInfo;
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info(`gateway listening on ${url}`, { sandbox: config.SANDBOX_ADDR, frontend: frontendDist, collabDb: config.COLLAB_DB });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      server.close();
      await Promise.all([streams.dispose(), collabServer.dispose()]);
      // Runs end first so their rooms record how they ended; then the rooms are stored.
      await runs.dispose();
      await collab.dispose();
      server.closeAllConnections();
      sandbox.dispose();
    })());
  return { server, runs, streams, sandbox, collab, port: address.port, url, close, [Symbol.asyncDispose]: close };
}

interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly config: GatewayConfig;
  readonly trpc: (req: IncomingMessage, res: ServerResponse) => void;
  readonly frontendDist: string | null;
  readonly health: (signal?: AbortSignal) => ReturnType<typeof checkHealth>;
}

async function handleRequest({ req, res, config, trpc, frontendDist, health }: RequestContext): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (path === '/trpc' || path.startsWith('/trpc/')) {
    if (applyCors(req, res, config.CORS_ORIGINS)) return;
    return trpc(req, res);
  }
  if (path === '/healthz') {
    const body = JSON.stringify(await health());
    // The gateway itself is up: 200 even when the sandbox is not (see `ok`).
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' }).end(body);
    return;
  }
  if (frontendDist && !path.startsWith('/stream/') && path !== '/collab') return serveStatic(req, res, frontendDist);
  res.writeHead(404, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ error: { code: 'not_found', message: `no route ${req.method ?? ''} ${path}; the API is under /trpc` } }));
}

/** FRONTEND_DIST, else `../frontend/dist` beside this workspace when it was built. */
function findFrontendDist(config: GatewayConfig): string | null {
  if (config.FRONTEND_DIST) return config.FRONTEND_DIST;
  const sibling = fileURLToPath(new URL('../../frontend/dist', import.meta.url));
  return existsSync(sibling) ? sibling : null;
}
