/**
 * The compatible APIs (issue 13, DESIGN.md section 8) wired together: Piston
 * v2 under `/api/v2` and Judge0 CE at `/submissions`, `/languages`… on the
 * gateway's port, and each on its own port when PISTON_PORT / JUDGE0_PORT is
 * set. Their runs go through RunService (room-less runs of the caller:
 * authentication, quotas, limits, the one run queue). Callers are known by
 * their API token only (CompatRunner's `tokenHeaders`).
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '@codecell/server-kit';
import type { GatewayConfig } from '../config.js';
import type { GatewayHooks } from '../extensions.js';
import { clientAddress } from '../http/hosts.js';
import type { CrossSitePolicy, Refusal } from '../http/hosts.js';
import { refuseUpgrade } from '../http/refuseUpgrade.js';
import type { UpgradeHandler } from '../http/httpServer.js';
import { DEFAULT_SANDBOX_SLOTS } from '../runs/local/SandboxSlots.js';
import type { RunManager } from '../runs/RunManager.js';
import type { RunService } from '../runs/RunService.js';
import type { GatewayStore } from '../store/GatewayStore.js';
import type { CompatContext, CompatRuntimes } from './compatContext.js';
import { sendJson } from './compatHttp.js';
import { compatLimitsOf } from './compatLimits.js';
import { CompatRunner, tokenHeaders } from './CompatRunner.js';
import { handleJudge0Route, isJudge0Path } from './judge0/judge0Routes.js';
import type { Judge0RouteContext } from './judge0/judge0Routes.js';
import { Judge0Submissions } from './judge0/Judge0Submissions.js';
import { PistonSocketServer } from './piston/PistonSocket.js';
import { PISTON_PREFIX, handlePistonRoute, isPistonPath } from './piston/pistonRoutes.js';

/** Which APIs a server serves. */
export type CompatScope = 'all' | 'piston' | 'judge0';

/** Options of {@link CompatApis}. */
export interface CompatApisOptions {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly policy: CrossSitePolicy;
  readonly hooks: GatewayHooks;
  readonly store: GatewayStore;
  /** The gateway's runtime list (the one `runtimes` answers from): the APIs list and run what it calls runnable. */
  readonly runtimes: CompatRuntimes;
  readonly runs: RunManager;
  readonly runService: RunService;
  /** The gateway's version (Judge0 `/about`). */
  readonly version: string;
  /** @default Date.now */
  readonly now?: () => number;
  /** Fleet mode: the gateways alive now (their Judge0 submissions are not lost). */
  readonly liveGateways?: () => Promise<ReadonlySet<string>>;
}

/** Piston's and Judge0's routes and sockets. */
export class CompatApis {
  readonly #ctx: Judge0RouteContext;
  readonly #piston: PistonSocketServer;
  readonly submissions: Judge0Submissions;

  constructor(o: CompatApisOptions) {
    const { config } = o;
    const runner = new CompatRunner({
      submit: (caller, input) => o.runService.submit(caller, input),
      subscribe: (jobId, subscriber) => o.runs.subscribe(jobId, subscriber),
      sendStdin: (caller, input, signal) => o.runService.sendStdin(caller, input, signal),
      stop: (caller, input, signal) => o.runService.stop(caller, input, signal),
    });
    const limits = compatLimitsOf(config);
    const { runtimes } = o;
    const ctx: CompatContext = {
      runner,
      runtimes,
      limits,
      policy: o.policy,
      logger: o.logger,
      callerOf: (req, opts) => o.hooks.authenticate({ headers: tokenHeaders(req.headers, opts), address: clientAddress(req, config.TRUST_PROXY) }),
    };
    this.submissions = new Judge0Submissions({
      store: o.store,
      runner,
      runtimes,
      limits,
      logger: o.logger,
      retentionMs: config.JUDGE0_RETENTION_HOURS * 3_600_000,
      maxQueueSize: config.JUDGE0_MAX_QUEUE_SIZE,
      maxQueuedBytes: config.MAX_QUEUED_BYTES,
      // The sandbox's default MAX_CONCURRENT_RUNS: how many runs one host executes at once (the gateway has no such setting).
      maxInFlightPerOwner: DEFAULT_SANDBOX_SLOTS,
      gatewayId: config.GATEWAY_ID,
      ...(o.liveGateways ? { liveGateways: o.liveGateways } : {}),
      ...(o.now ? { now: o.now } : {}),
    });
    this.#ctx = { ...ctx, submissions: this.submissions, judge0: { maxQueueSize: config.JUDGE0_MAX_QUEUE_SIZE, retentionHours: config.JUDGE0_RETENTION_HOURS }, version: o.version };
    this.#piston = new PistonSocketServer(ctx);
  }

  /** Ends the submissions a previous gateway process left unfinished. */
  recover(): Promise<void> {
    return this.submissions.recover();
  }

  /** Answers the request when `path` belongs to an API in `scope`; false when it does not. */
  async handle(req: IncomingMessage, res: ServerResponse, o: { path: string; scope: CompatScope }): Promise<boolean> {
    if (o.scope !== 'judge0' && isPistonPath(o.path)) {
      await handlePistonRoute(req, res, this.#ctx);
      return true;
    }
    if (o.scope !== 'piston' && isJudge0Path(o.path)) {
      await handleJudge0Route(req, res, this.#ctx);
      return true;
    }
    return false;
  }

  /** The answer on an API's own port for a path it does not have. */
  notFound(res: ServerResponse, scope: Exclude<CompatScope, 'all'>, path: string): void {
    const message = `no route ${path.slice(0, 200)}`;
    sendJson(res, 404, scope === 'piston' ? { message: `${message}; Piston's routes are under ${PISTON_PREFIX}` } : { error: `${message}; Judge0's routes are /submissions, /languages, /statuses, /about` });
  }

  /** A Host refusal in the format of the API the path belongs to; false for other paths. */
  refuse(res: ServerResponse, o: { path: string; scope: CompatScope; refusal: Refusal; status: number }): boolean {
    const piston = o.scope === 'piston' || (o.scope === 'all' && isPistonPath(o.path));
    const judge0 = o.scope === 'judge0' || (o.scope === 'all' && isJudge0Path(o.path));
    if (!piston && !judge0) return false;
    res.setHeader('Connection', 'close');
    sendJson(res, o.status, piston ? { message: o.refusal.message } : { error: o.refusal.message });
    return true;
  }

  /** The upgrade handler of `ws /api/v2/connect` (first path segment `api`). */
  readonly upgrade: UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/\/+$/, '');
    if (path !== `${PISTON_PREFIX}/connect`) return refuseUpgrade(socket, 404, `not found; the WebSocket here is ${PISTON_PREFIX}/connect`);
    this.#piston.handleUpgrade(req, socket, head);
  };

  /** Deletes expired submissions. */
  prune(): Promise<number> {
    return this.submissions.prune();
  }

  /** Closes the Piston sockets (their runs are stopped) and stops taking submissions. */
  async dispose(): Promise<void> {
    await Promise.all([this.#piston.dispose(), this.submissions.dispose()]);
  }

  /** Resolves once every submission handed to the runs has its result stored (after the runs ended). */
  settled(): Promise<void> {
    return this.submissions.settled();
  }
}
