/**
 * Builds the gateway's parts from its configuration, in dependency order:
 * the database and store (SQLite, or PostgreSQL with DATABASE_URL), the fleet
 * (with REDIS_URL), authentication, quotas and the extension list, room
 * access, collaboration, runs, streams, metrics, and the services the tRPC
 * procedures call. No I/O beyond opening the database and Redis.
 * @module
 */
import type { Logger } from '@codecell/server-kit';
import { RoomAccess } from './access/RoomAccess.js';
import { RoomService } from './access/RoomService.js';
import type { LiveConnections } from './access/RoomService.js';
import { SharingService } from './access/SharingService.js';
import { Accounts } from './auth/Accounts.js';
import { AuthService } from './auth/AuthService.js';
import { authOperations } from './auth/authOperations.js';
import type { Caller } from './auth/Caller.js';
import { OidcSignIn } from './auth/OidcSignIn.js';
import { CollabAccess } from './collab/CollabAccess.js';
import { CollabService } from './collab/CollabService.js';
import type { GatewayConfig } from './config.js';
import { GatewayHooks } from './extensions.js';
import type { GatewayExtension } from './extensions.js';
import { createCollabRedis } from './fleet/collabRedis.js';
import { GatewayFleet } from './fleet/GatewayFleet.js';
import { checkHealth } from './gatewayContext.js';
import { clientAddress } from './http/hosts.js';
import { maxTrpcBodyBytes } from './config.js';
import { QuotaExtension } from './quotas/QuotaExtension.js';
import { GatewayMetrics } from './metrics/GatewayMetrics.js';
import { LocalRuns } from './runs/local/LocalRuns.js';
import type { RunBackend, RunInfo } from './runs/ports.js';
import { RunManager } from './runs/RunManager.js';
import { RuntimeCatalog } from './RuntimeCatalog.js';
import { RunService } from './runs/RunService.js';
import { RoomTerminals } from './runs/RoomTerminals.js';
import { pageSession } from './stream/pageSession.js';
import { SandboxClient } from './sandboxClient.js';
import { openStorage } from './storage.js';
import type { GatewayStorage } from './storage.js';
import type { GatewayStore } from './store/GatewayStore.js';
import { StreamServer } from './stream/StreamServer.js';
import type { GatewayContext, GatewayHealth } from './trpc/context.js';

/** What {@link buildServices} may be given besides the configuration. */
export interface ServiceOverrides {
  /** Stream ping interval, ms. */
  readonly pingIntervalMs?: number;
  /** More extensions, after authentication and quotas. */
  readonly extensions?: readonly GatewayExtension[];
  /** Clock, epoch ms (tests). @default Date.now */
  readonly now?: () => number;
  /** Runs sent to the sandbox at once, instead of what its health reports (tests with fake sandboxes). */
  readonly sandboxSlots?: number;
}

/** The parts of a gateway. */
export interface GatewayServices {
  readonly storage: GatewayStorage;
  readonly store: GatewayStore;
  /** Fleet mode (REDIS_URL); null in the embedded default. */
  readonly fleet: GatewayFleet | null;
  readonly metrics: GatewayMetrics;
  readonly sandbox: SandboxClient;
  readonly hooks: GatewayHooks;
  readonly auth: AuthService;
  readonly accounts: Accounts;
  readonly oidc: OidcSignIn | null;
  readonly quotas: QuotaExtension;
  readonly access: RoomAccess;
  readonly collab: CollabService;
  readonly runs: RunManager;
  readonly runService: RunService;
  readonly streams: StreamServer;
  /** The runtime table with the sandbox's versions (the `runtimes` procedure, and the compatible APIs' language lists). */
  readonly catalog: RuntimeCatalog;
  /** Asks the sandbox (or, in fleet mode, Redis and the hosts) and the database how they are; never throws. */
  health(signal?: AbortSignal): Promise<GatewayHealth>;
  /** The tRPC context of a request by `caller`, whose response takes cookies through `setCookie`. */
  contextFor(caller: Caller, setCookie: (value: string) => void): GatewayContext;
  /** Leaves the fleet and closes the database (after runs and rooms were disposed). Safe to call twice. */
  closeBackends(): Promise<void>;
}

/**
 * Wires everything. `baseUrl` is where people reach the gateway (PUBLIC_URL,
 * else the listening URL once known), for links and the OIDC callback.
 */
export async function buildServices(o: { config: GatewayConfig; logger: Logger; baseUrl: () => string; overrides?: ServiceOverrides }): Promise<GatewayServices> {
  const { config, logger, baseUrl } = o;
  const now = o.overrides?.now ?? Date.now;
  const mode = config.AUTH_MODE;
  const storage = await openStorage(config);
  const { store } = storage;
  let streamsRef: StreamServer | null = null;
  let collabRef: CollabService | null = null;
  const fleet =
    config.REDIS_URL === undefined
      ? null
      : new GatewayFleet({
          redisUrl: config.REDIS_URL,
          prefix: config.REDIS_PREFIX,
          gatewayId: config.GATEWAY_ID,
          logger,
          now,
          maxQueued: config.MAX_QUEUED_RUNS,
          maxQueuedBytes: config.MAX_QUEUED_BYTES,
          replayBytes: config.STREAM_REPLAY_BYTES,
          retentionMs: config.RUN_RETENTION_MS,
          record: () => ({ url: baseUrl(), store: storage.kind, collabConnections: collabRef?.connectionCount ?? 0, streamSockets: streamsRef?.connectionCount ?? 0 }),
        });
  const secureCookies = config.PUBLIC_URL?.startsWith('https:') ?? false;
  const auth = new AuthService({ mode, store, sessionTtlMs: config.SESSION_TTL_HOURS * 3_600_000, secureCookies, now });
  const accounts = new Accounts({ mode, store, logger, allowSignup: config.ALLOW_SIGNUP, maxSignInFailures: config.SIGNIN_MAX_FAILURES, baseUrl, now });
  const quotas = new QuotaExtension({
    store,
    logger,
    now,
    ...(fleet ? { activeRuns: fleet.activeRuns } : {}),
    limits: {
      concurrentRuns: config.QUOTA_CONCURRENT_RUNS,
      runsPerMinute: config.QUOTA_RUNS_PER_MINUTE,
      cpuSecondsPerDay: config.QUOTA_CPU_SECONDS_PER_DAY,
      rooms: config.QUOTA_ROOMS,
      storageBytes: config.QUOTA_STORAGE_MB * 1024 * 1024,
    },
  });
  const hooks = new GatewayHooks([auth, quotas, ...(o.overrides?.extensions ?? [])]);
  const access = new RoomAccess({ mode, store, hooks, now });
  const collab = new CollabService({
    log: storage.log,
    findRoom: (roomId) => store.getRoom(roomId),
    isLiveRun: async (jobId: string): Promise<boolean> => {
      const run: RunInfo | undefined = await runs.info(jobId);
      return run !== undefined && run.state !== 'finished';
    },
    ...(fleet && config.REDIS_URL !== undefined ? { redis: createCollabRedis({ url: config.REDIS_URL, prefix: config.REDIS_PREFIX, gatewayId: config.GATEWAY_ID }) } : {}),
    maxRoomBytes: config.MAX_ROOM_BYTES,
    maxRoomFiles: config.MAX_ROOM_FILES,
    maxFileBytes: config.MAX_FILE_BYTES,
    beforeRoomWrite: (write) => hooks.beforeRoomWrite(write),
    logger,
    now,
    extensions: [new CollabAccess({ access }), ...hooks.collabExtensions()],
  });
  collabRef = collab;
  const sandbox = new SandboxClient({ baseUrl: config.SANDBOX_ADDR, token: config.SANDBOX_TOKEN, tokenFile: config.SANDBOX_TOKEN_FILE });
  const backend: RunBackend =
    fleet?.runs ??
    new LocalRuns({
      sandbox,
      logger,
      now,
      ...(o.overrides?.sandboxSlots === undefined ? {} : { slots: o.overrides.sandboxSlots }),
      maxQueued: config.MAX_QUEUED_RUNS,
      maxQueuedBytes: config.MAX_QUEUED_BYTES,
      maxRetainedReplayBytes: config.MAX_RETAINED_REPLAY_BYTES,
      replayBytes: config.STREAM_REPLAY_BYTES,
      retentionMs: config.RUN_RETENTION_MS,
    });
  let metricsRef: GatewayMetrics | null = null;
  const runs: RunManager = new RunManager({
    backend,
    onRunUpdate: collab.onRunUpdate,
    onRunFile: collab.onRunFile,
    onTerminal: collab.onTerminal,
    onRunEnd: (run) => {
      metricsRef?.runEnded(run);
      if (run.owner) hooks.afterRun({ owner: run.owner, jobId: run.jobId, accepted: true, cpuMs: run.cpuMs, adopted: run.adopted });
    },
    onTerminalEnd: (t) => {
      if (t.owner) hooks.afterTerminal({ owner: t.owner, jobId: t.jobId, cpuMs: t.cpuMs });
    },
    logger,
    now,
    defaults: { timeoutMs: config.RUN_TIMEOUT_MS, memoryMb: config.MAX_MEM_MB, vcpus: config.MAX_VCPUS },
    maxima: { timeoutMs: config.MAX_RUN_TIMEOUT_MS, memoryMb: config.MAX_MEM_MB, vcpus: config.MAX_VCPUS },
  });
  // The runs of gateways that are gone: their rooms, files and CPU charge are followed here.
  fleet?.adoptOrphans(runs);
  const terminals = new RoomTerminals({ runs, logger });
  const runService = new RunService({ mode, runs, access, hooks, terminals });
  const streams = new StreamServer({
    runs,
    logger,
    maxBufferedBytes: config.STREAM_MAX_BUFFERED_BYTES,
    maxSubscribersPerRun: config.MAX_STREAM_SUBSCRIBERS_PER_RUN,
    maxSockets: config.MAX_STREAM_SOCKETS,
    authorize: async (req, jobId) => {
      const caller = await hooks.authenticate({ headers: req.headers, address: clientAddress(req, config.TRUST_PROXY) });
      const run = await runService.requireJob(caller, jobId, 'read');
      return { userId: caller.principal?.userId ?? null, roomId: run.sessionId ?? null };
    },
    // The page's ws /stream: a `run` message carries the room's files, as a tRPC body does.
    page: async (req) => pageSession({ caller: await hooks.authenticate({ headers: req.headers, address: clientAddress(req, config.TRUST_PROXY) }), runService, runs }),
    maxPageMessageBytes: maxTrpcBodyBytes(config),
    ...(o.overrides?.pingIntervalMs === undefined ? {} : { pingIntervalMs: o.overrides.pingIntervalMs }),
  });
  streamsRef = streams;
  const metrics = new GatewayMetrics({
    gatewayId: config.GATEWAY_ID,
    queueDepth: () => backend.queue.depth(),
    collabConnections: () => collab.connectionCount,
    streamSockets: () => streams.connectionCount,
    inProgress: () => runs.inProgress(),
    ...(fleet ? { peers: () => fleet.peers() } : {}),
  });
  metricsRef = metrics;
  const live: LiveConnections = {
    revoke: ({ roomId, userIds, reason }) => {
      const users = userIds === null ? null : new Set(userIds);
      collab.disconnect({ roomId, userIds: users, reason });
      streams.disconnect({ roomId, userIds: users, code: 4403, reason });
    },
  };
  const rooms = new RoomService({ store, access, collab, hooks, stopRoomRuns: (roomId) => runs.stopRoom(roomId), live, logger, now });
  const sharing = new SharingService({ store, access, accounts, auth, live, baseUrl, logger, now });
  const oidc =
    mode === 'oidc' && config.OIDC_ISSUER !== undefined && config.OIDC_CLIENT_ID !== undefined
      ? new OidcSignIn({ issuer: config.OIDC_ISSUER, clientId: config.OIDC_CLIENT_ID, clientSecret: config.OIDC_CLIENT_SECRET, scopes: config.OIDC_SCOPES, baseUrl, accounts, auth, secureCookies, logger, now })
      : null;
  const authOps = authOperations({ auth, accounts });
  // In a fleet the hosts' registrations say what their images have.
  const catalog = new RuntimeCatalog({ sandbox: fleet ? { runtimes: () => fleet.hosts.runtimes() } : sandbox, logger, now });
  const runtimes = (signal?: AbortSignal) => catalog.list(signal);
  const health = (signal?: AbortSignal) => checkHealth({ sandbox, fleet, storage, gatewayId: config.GATEWAY_ID, signal });
  let closing: Promise<void> | null = null;
  const closeBackends = (): Promise<void> =>
    (closing ??= (async () => {
      quotas.dispose();
      await fleet?.dispose();
      await storage.close();
      sandbox.dispose();
    })());
  return {
    storage,
    store,
    fleet,
    metrics,
    closeBackends,
    sandbox,
    hooks,
    auth,
    accounts,
    oidc,
    quotas,
    access,
    collab,
    runs,
    runService,
    streams,
    catalog,
    health,
    contextFor: (caller, setCookie) => ({ caller, runs: runService, rooms, sharing, auth: authOps, quotas, setCookie, health, runtimes }),
  };
}
