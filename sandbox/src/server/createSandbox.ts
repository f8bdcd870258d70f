/**
 * Wires the sandbox together from its configuration: guest image, VMM driver,
 * host cgroups, warm pool, sessions, runs and the HTTP server. Used by
 * `main.ts` and by the integration tests, which start it on port 0.
 * @module
 */
import { rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Health, HostFleetHealth, RuntimesResponse } from '@codecell/protocol';
import type { SandboxConfig } from '../config.js';
import { VmPool } from '../pool/VmPool.js';
import { SessionManager } from '../pool/SessionManager.js';
import { RunService } from '../runs/RunService.js';
import { shapeFor } from '../runs/runPlan.js';
import { cgroupWarning } from '../vmm/hostCgroup.js';
import type { CgroupMode } from '../vmm/hostCgroup.js';
import { QemuDriver } from '../vmm/qemu/QemuDriver.js';
import type { VmmDriver } from '../vmm/VmmDriver.js';
import type { HostRunner } from '../fleet/ports.js';
import type { Logger } from '@codecell/server-kit';
import { createSandboxServer } from './httpServer.js';
import { SandboxMetrics } from './sandboxMetrics.js';
import { allowedHostsFor } from './requestGuard.js';
import { createDriver, hostCgroupLimitMb, hostCgroupsFor, imageRuntimes, poolModeFor, resolveToken, runDirFor } from './sandboxParts.js';
import { listenOnUnixSocket } from './unixListen.js';

export const SANDBOX_VERSION = '0.1.0';

export interface Sandbox {
  readonly server: Server;
  readonly driver: VmmDriver;
  readonly pool: VmPool;
  readonly sessions: SessionManager;
  readonly runs: RunService;
  readonly health: () => Health;
  /** `GET /runtimes`: the runtime table with the versions the guest image's manifest records. */
  readonly runtimes: RuntimesResponse;
  /** This sandbox as a fleet host's runner (FleetHost takes runs from Redis into it). */
  readonly runner: HostRunner;
  readonly metrics: SandboxMetrics;
  /** Fleet mode: what `/healthz` and `/metrics` report of the host's part in the fleet. */
  reportFleet(info: () => HostFleetHealth): void;
  /** The secret callers must send as `Authorization: Bearer` (tests and benchmarks send it too). */
  readonly token: string;
  /** This process's run directory (VM sockets, template RAM), made fresh at start. */
  readonly runDir: string;
  /** Base URL once listening, e.g. `http://127.0.0.1:5000`, or `unix:/path` on a socket. */
  url(): string;
  listen(port: number, host: string): Promise<void>;
  /** Listens on a Unix socket (mode 0600) instead (SANDBOX_SOCKET). */
  listenSocket(path: string): Promise<void>;
  /** Stops accepting, kills runs, destroys every VM and removes every file. */
  dispose(): Promise<void>;
}

/** Test hooks of {@link createSandbox}. */
export interface SandboxOverrides {
  /** Pretend the host has this cgroup layout (`none`: no cgroups). */
  readonly cgroupMode?: CgroupMode;
}

/** Builds the sandbox and initialises its driver (acceleration probe); starts filling the pool. */
export async function createSandbox(config: SandboxConfig, logger: Logger, overrides: SandboxOverrides = {}): Promise<Sandbox> {
  // First, so a gateway started right after the sandbox finds the token file.
  const token = resolveToken(config, logger);
  const runDir = runDirFor(config, logger);
  const cgroups = await hostCgroupsFor({ config, logger, mode: overrides.cgroupMode });
  let driver: VmmDriver;
  try {
    driver = createDriver({ config, runDir, logger, cgroups });
    await driver.init();
  } catch (err) {
    await cgroups.dispose();
    rmSync(runDir, { recursive: true, force: true });
    throw err;
  }
  logger.info('VMM driver ready', {
    driver: driver.name,
    acceleration: driver.acceleration,
    reason: driver instanceof QemuDriver ? driver.accelerationReason : undefined,
    cgroups: cgroups.mode,
    runDir,
  });
  const shape = shapeFor(config.DEFAULT_MEM_MB, 1);
  const pool = new VmPool({
    driver,
    shape,
    target: config.POOL_SIZE,
    mode: poolModeFor({ config, runDir, memMb: shape.memMb, logger }),
    bootTimeoutMs: config.BOOT_TIMEOUT_MS,
    restoreTimeoutMs: Math.min(config.BOOT_TIMEOUT_MS, 15_000),
    maxStarting: 2,
    warmUp: true,
    maxGuestMemoryMb: config.MAX_GUEST_MEMORY_MB,
    logger,
  });
  const sessions = new SessionManager({ pool, idleTimeoutMs: config.SESSION_IDLE_MS, maxSessions: config.MAX_SESSIONS, logger });
  let fleetInfo: (() => HostFleetHealth) | null = null;
  const metrics = new SandboxMetrics({
    pool: () => pool.stats(),
    attachedVms: () => sessions.attached,
    runs: () => runs.stats(),
    fleet: () => {
      const f = fleetInfo?.();
      return f ? { active: f.runs, draining: f.draining } : null;
    },
  });
  const runs = new RunService({ config, sessions, logger, acceleration: driver.acceleration, onRunEnd: (status) => metrics.runEnded(status) });
  const health = (): Health => {
    const p = pool.stats();
    const r = runs.stats();
    return {
      ok: true,
      driver: driver.name,
      acceleration: driver.acceleration,
      accelerationReason: driver instanceof QemuDriver ? driver.accelerationReason : `${driver.name} requires KVM`,
      ready: pool.ready,
      pool: { ...p, attached: sessions.attached },
      runs: { active: r.active, queued: r.queued, total: r.total },
      limits: {
        timeoutMs: config.RUN_TIMEOUT_MS,
        maxTimeoutMs: config.MAX_RUN_TIMEOUT_MS,
        memoryMb: config.DEFAULT_MEM_MB,
        maxMemoryMb: config.MAX_MEM_MB,
        vcpus: 1,
        maxVcpus: config.MAX_VCPUS,
        outputBytes: config.OUTPUT_BYTES,
        maxSessions: config.MAX_SESSIONS,
        maxGuestMemoryMb: config.MAX_GUEST_MEMORY_MB,
        maxConcurrentRuns: config.MAX_CONCURRENT_RUNS,
      },
      hostCgroups: {
        mode: cgroups.mode,
        memoryLimitMb: cgroups.mode === 'none' ? null : hostCgroupLimitMb(config),
        warning: cgroups.problem === null ? null : cgroupWarning(cgroups.problem),
      },
      version: SANDBOX_VERSION,
      python: pool.python,
      ...(fleetInfo ? { fleet: fleetInfo() } : {}),
    };
  };
  const runtimes = imageRuntimes(config);
  const runtimeVersions = Object.fromEntries(runtimes.runtimes.map((r) => [r.id, r.version]));
  const runner: HostRunner = {
    start: (request) => runs.start(request),
    startTerminal: (request) => runs.startTerminal(request),
    runtimes: () => runtimeVersions,
    stats: () => {
      const p = pool.stats();
      const r = runs.stats();
      return {
        capacity: config.MAX_CONCURRENT_RUNS,
        active: r.active + r.queued,
        sessions: sessions.size,
        idleVms: p.idle,
        startingVms: p.starting,
        guestMemoryMb: p.guestMemoryMb,
        maxGuestMemoryMb: config.MAX_GUEST_MEMORY_MB,
        ready: pool.ready,
      };
    },
  };
  const maxRunBodyBytes = 2 * (config.MAX_SOURCE_BYTES + config.MAX_FILES_BYTES + config.MAX_STDIN_BYTES) + 1024 * 1024;
  const server = createSandboxServer({
    runs,
    health,
    runtimes: () => runtimes,
    logger,
    maxRunBodyBytes,
    token,
    allowedHosts: allowedHostsFor(config),
    tokenHint: config.SANDBOX_TOKEN === undefined ? config.SANDBOX_TOKEN_FILE : undefined,
    metrics: () => metrics.render(),
  });
  pool.start();
  let disposing: Promise<void> | undefined;
  return {
    server,
    driver,
    pool,
    sessions,
    runs,
    health,
    runtimes,
    runner,
    metrics,
    reportFleet: (info) => void (fleetInfo = info),
    token,
    runDir,
    url: () => {
      const a = server.address() as AddressInfo | string;
      if (typeof a === 'string') return `unix:${a}`;
      return `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
    },
    listenSocket: (path) => listenOnUnixSocket(server, path),
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      }),
    dispose: () =>
      (disposing ??= (async () => {
        server.close();
        server.closeAllConnections();
        await runs.dispose();
        await sessions.dispose();
        await pool.dispose();
        await driver.dispose();
        await cgroups.dispose();
        rmSync(runDir, { recursive: true, force: true });
        if (config.SANDBOX_SOCKET !== undefined) rmSync(config.SANDBOX_SOCKET, { force: true });
      })()),
  };
}
