/**
 * The gateway's HTTP server: `/trpc/*` (tRPC), `ws /stream/<jobId>`,
 * `ws /collab` (Hocuspocus rooms), `/auth/oidc/*`, `GET /healthz`, `GET /metrics`,
 * `/rooms/<roomId>/export.zip` and `import.zip`, the compatible APIs (Piston
 * `/api/v2/*`, Judge0 `/submissions`…; also on PISTON_PORT / JUDGE0_PORT),
 * and the built frontend. Every request and upgrade passes the Host
 * allow-list; every upgrade the Origin check and the per-address WebSocket
 * cap; every TCP connection the per-address connection cap (httpServer.ts).
 * {@link createGateway} wires the
 * parts (see gatewayServices.ts); tests start it on port 0.
 * @module
 */
import { existsSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { ERROR_CODE_TABLE } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import { LOCAL_USER } from './auth/Caller.js';
import { CollabServer } from './collab/CollabServer.js';
import { CompatApis } from './compat/CompatApis.js';
import { compatServers } from './compat/compatServers.js';
import type { ApiServer } from './compat/compatServers.js';
import type { CollabService } from './collab/CollabService.js';
import type { GatewayConfig } from './config.js';
import { GATEWAY_VERSION } from './gatewayContext.js';
import { buildServices } from './gatewayServices.js';
import { maxTrpcBodyBytes } from './config.js';
import type { GatewayServices, ServiceOverrides } from './gatewayServices.js';
import { AddressCounter } from './http/AddressCounter.js';
import { CrossSitePolicy, clientAddress, isLoopbackHost } from './http/hosts.js';
import { createGatewayHttpServer, listenHttp, refuseHttp } from './http/httpServer.js';
import type { UpgradeHandler } from './http/httpServer.js';
import { handleOidcRoute, isOidcPath } from './http/oidcRoutes.js';
import { handleRoomFilesRoute, matchRoomFilesRoute } from './http/roomFilesRoutes.js';
import { serveStatic } from './http/staticFiles.js';
import { handleTrpcHttp } from './http/trpcHttp.js';
import { handleMetrics } from './http/metricsRoute.js';
import type { GatewayFleet } from './fleet/GatewayFleet.js';
import type { GatewayMetrics } from './metrics/GatewayMetrics.js';
import type { RunManager } from './runs/RunManager.js';
import type { SandboxClient } from './sandboxClient.js';
import type { GatewayStore } from './store/GatewayStore.js';
import type { StreamServer } from './stream/StreamServer.js';
import { appRouter } from './trpc/router.js';

export { maxTrpcBodyBytes } from './config.js';

/** How often old quota counters and expired sessions are dropped. */
export const HOUSEKEEPING_INTERVAL_MS = 60 * 60_000;

/** A running gateway. Dispose it (or `await using` it) to stop. */
export interface Gateway extends AsyncDisposable {
  readonly server: Server;
  readonly runs: RunManager;
  readonly streams: StreamServer;
  readonly sandbox: SandboxClient;
  readonly collab: CollabService;
  readonly store: GatewayStore;
  /** Fleet mode (REDIS_URL), else null. */
  readonly fleet: GatewayFleet | null;
  readonly metrics: GatewayMetrics;
  /** The one-time link that creates the first admin (printed in the log), or null. */
  readonly setupLink: string | null;
  /** The port actually bound (useful with PORT=0). */
  readonly port: number;
  /** `http://host:port` */
  readonly url: string;
  /** The compatible APIs' own servers (PISTON_PORT, JUDGE0_PORT), when set. */
  readonly apiUrls: Partial<Record<'piston' | 'judge0', string>>;
  /**
   * Closes sockets, ends runs (the sandbox kills them; their rooms record it),
   * stores every room and closes SQLite, and stops listening. Safe to call twice.
   */
  close(): Promise<void>;
}

/** Test hooks and overrides of {@link createGateway}. */
export type GatewayOverrides = ServiceOverrides;

/**
 * Creates the gateway and listens on `config.PORT` / `config.HOST`.
 * @example
 * await using gw = await createGateway(loadConfig({ PORT: '0' }), silentLogger);
 * const res = await fetch(`${gw.url}/healthz`);
 */
export async function createGateway(config: GatewayConfig, logger: Logger, overrides: GatewayOverrides = {}): Promise<Gateway> {
  let listening = `http://${config.HOST}:${config.PORT}`;
  const s = await buildServices({ config, logger, baseUrl: () => config.PUBLIC_URL ?? listening, overrides });
  const policy = new CrossSitePolicy({ publicUrl: config.PUBLIC_URL, allowedHosts: config.ALLOWED_HOSTS, corsOrigins: config.CORS_ORIGINS });
  const authenticate = (req: IncomingMessage) => s.hooks.authenticate({ headers: req.headers, address: clientAddress(req, config.TRUST_PROXY) });
  const collabServer = new CollabServer({
    collab: s.collab,
    logger,
    // Room-sized updates reach the MAX_ROOM_BYTES check; anything larger is cut off by ws.
    maxPayloadBytes: 2 * config.MAX_ROOM_BYTES + 1024 * 1024,
    authenticate,
  });
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    maxBodySize: maxTrpcBodyBytes(config),
    maxBatchSize: config.MAX_TRPC_BATCH,
    createContext: async ({ req, res }) => s.contextFor(await authenticate(req), (value) => void res.appendHeader('Set-Cookie', value)),
    onError: ({ error, path }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') logger.error('tRPC call failed', { path, error: String(error.cause ?? error) });
    },
  });
  const frontendDist = findFrontendDist(config);
  if (frontendDist && !existsSync(join(frontendDist, 'index.html'))) {
    logger.warn(`FRONTEND_DIST=${frontendDist} has no index.html; build the frontend (npm run build -w frontend) or unset FRONTEND_DIST`);
  }

  const compat = new CompatApis({ config, logger, policy, hooks: s.hooks, store: s.store, runtimes: s.catalog, runs: s.runs, runService: s.runService, version: GATEWAY_VERSION, ...(overrides.now ? { now: overrides.now } : {}), ...liveGatewaysOf(s.fleet) });
  const shared = { config, policy, logger, wsPerAddress: new AddressCounter(config.MAX_WS_PER_ADDRESS), connectionsPerAddress: new AddressCounter(config.MAX_CONNECTIONS_PER_ADDRESS) };
  const server = createGatewayHttpServer({
    ...shared,
    handle: (req, res) => handleRequest({ req, res, s, compat, policy, config, trpc, frontendDist, logger }),
    refuse: (req, res, refusal) => compat.refuse(res, { path: pathOf(req), scope: 'all', refusal, status: ERROR_CODE_TABLE[refusal.code].http }) || refuseHttp(res, refusal),
    upgrades: new Map<string, UpgradeHandler>([
      ['stream', (req, socket, head) => s.streams.handleUpgrade(req, socket, head)],
      ['collab', (req, socket, head) => collabServer.handleUpgrade(req, socket, head)],
      ['api', compat.upgrade],
    ]),
  });
  const apiServers = compatServers({ shared, compat, ports: { piston: config.PISTON_PORT, judge0: config.JUDGE0_PORT } });

  let bound: { url: string; port: number };
  const apiUrls: Partial<Record<ApiServer['scope'], string>> = {};
  try {
    bound = await listenHttp(server, { port: config.PORT, host: config.HOST });
    for (const a of apiServers) apiUrls[a.scope] = (await listenHttp(a.server, { port: a.port, host: config.HOST })).url;
  } catch (err) {
    server.close();
    for (const a of apiServers) a.server.close();
    await compat.dispose();
    await Promise.allSettled([s.streams.dispose(), s.runs.dispose(), s.collab.dispose()]);
    await s.closeBackends();
    throw err;
  }
  const { url } = bound;
  listening = url;
  const setupLink = await prepareIdentity(s, config);
  await compat.recover();
  await compat.prune();
  logger.info(`gateway listening on ${url}`, {
    gatewayId: config.GATEWAY_ID,
    ...(s.fleet ? { fleet: `Redis ${config.REDIS_PREFIX}` } : { sandbox: config.SANDBOX_ADDR }),
    database: `${s.storage.kind} ${s.storage.where}`,
    frontend: frontendDist,
    auth: config.AUTH_MODE,
    publicUrl: config.PUBLIC_URL,
  });
  if (apiUrls.piston) logger.info(`Piston v2 API also on ${apiUrls.piston} (PISTON_PORT)`);
  if (apiUrls.judge0) logger.info(`Judge0 CE API also on ${apiUrls.judge0} (JUDGE0_PORT)`);
  if (config.AUTH_MODE === 'none' && !isLoopbackHost(config.HOST)) {
    logger.warn(`AUTH_MODE=none on ${config.HOST} (ALLOW_INSECURE_NO_AUTH=true): anyone who reaches this port can run code and read every room`);
  }
  const housekeeping = setInterval(() => {
    // In a fleet, Judge0 submissions of gateways that went away are ended too (at start only those that were alive are left).
    void Promise.all([s.quotas.prune(), s.store.deleteExpiredSessions((overrides.now ?? Date.now)()), compat.prune(), ...(s.fleet ? [compat.recover()] : [])]).catch((err: unknown) => logger.warn('housekeeping failed', { error: String(err) }));
  }, HOUSEKEEPING_INTERVAL_MS);
  housekeeping.unref();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      clearInterval(housekeeping);
      server.close();
      for (const a of apiServers) a.server.close();
      await Promise.all([s.streams.dispose(), collabServer.dispose(), compat.dispose()]);
      // Runs end first so their rooms (and Judge0 submissions) record how they ended (in fleet mode they go on on their hosts); then the rooms are stored.
      await s.runs.dispose();
      await compat.settled();
      await s.collab.dispose();
      await s.closeBackends();
      server.closeAllConnections();
      for (const a of apiServers) a.server.closeAllConnections();
    })());
  return {
    server,
    runs: s.runs,
    streams: s.streams,
    sandbox: s.sandbox,
    collab: s.collab,
    store: s.store,
    fleet: s.fleet,
    metrics: s.metrics,
    setupLink,
    port: bound.port,
    url,
    apiUrls,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** AUTH_MODE=none: rooms without an owner are the local user's. Hosted: a setup link while there is no admin. */
async function prepareIdentity(s: GatewayServices, config: GatewayConfig): Promise<string | null> {
  if (config.AUTH_MODE === 'none') {
    await s.store.adoptOwnerlessRooms({ userId: LOCAL_USER.userId, previousOwners: [] });
    return null;
  }
  return s.accounts.prepareSetup();
}

interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly s: GatewayServices;
  readonly compat: CompatApis;
  readonly policy: CrossSitePolicy;
  readonly config: GatewayConfig;
  readonly trpc: (req: IncomingMessage, res: ServerResponse) => void;
  readonly frontendDist: string | null;
  readonly logger: Logger;
}

const pathOf = (req: IncomingMessage): string => new URL(req.url ?? '/', 'http://x').pathname;

async function handleRequest({ req, res, s, compat, policy, config, trpc, frontendDist, logger }: RequestContext): Promise<void> {
  const path = pathOf(req);
  if (path === '/trpc' || path.startsWith('/trpc/')) {
    return handleTrpcHttp(req, res, { policy, corsOrigins: config.CORS_ORIGINS, maxBatch: config.MAX_TRPC_BATCH, trpc });
  }
  if (isOidcPath(path)) return handleOidcRoute(req, res, { oidc: s.oidc, logger });
  const filesRoute = matchRoomFilesRoute(path);
  if (filesRoute) {
    const authenticate = (r: IncomingMessage) => s.hooks.authenticate({ headers: r.headers, address: clientAddress(r, config.TRUST_PROXY) });
    const roomExists = async (roomId: string) => (await s.store.getRoom(roomId)) !== null || (await s.collab.summary(roomId)).hasContent;
    return handleRoomFilesRoute(req, res, { route: filesRoute, policy, corsOrigins: config.CORS_ORIGINS, authenticate, access: s.access, collab: s.collab, roomExists, logger });
  }
  if (path === '/metrics') return handleMetrics(req, res, { metrics: s.metrics, token: config.METRICS_TOKEN, trustProxy: config.TRUST_PROXY });
  if (path === '/healthz') {
    const body = JSON.stringify(await s.health());
    // The gateway itself is up: 200 even when the sandbox is not (see `ok`).
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' }).end(body);
    return;
  }
  if (await compat.handle(req, res, { path, scope: 'all' })) return;
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

/** Fleet mode: the gateways alive now, by their presence in Redis. */
function liveGatewaysOf(fleet: GatewayFleet | null): { liveGateways?: () => Promise<ReadonlySet<string>> } {
  if (!fleet) return {};
  return { liveGateways: async () => new Set((await fleet.presence.list()).map((g) => g.gatewayId)) };
}
