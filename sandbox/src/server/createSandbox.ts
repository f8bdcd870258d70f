/**
 * Wires the sandbox together from its configuration: guest image, VMM driver,
 * host cgroups, warm pool, sessions, runs and the HTTP server. Used by
 * `main.ts` and by the integration tests, which start it on port 0.
 * @module
 */
import { existsSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CodeCellError } from '@codecell/protocol';
import type { Health } from '@codecell/protocol';
import { defaultCacheDir, guestImage, guestImageReady } from '@codecell/guest';
import type { SandboxConfig } from '../config.js';
import { VmPool } from '../pool/VmPool.js';
import { SessionManager } from '../pool/SessionManager.js';
import { RunService } from '../runs/RunService.js';
import { shapeFor } from '../runs/runPlan.js';
import { HostCgroups } from '../vmm/hostCgroup.js';
import { reapStaleSandboxes } from '../vmm/staleReaper.js';
import { QemuDriver } from '../vmm/qemu/QemuDriver.js';
import { FirecrackerDriver } from '../vmm/firecracker/FirecrackerDriver.js';
import type { VmmDriver } from '../vmm/VmmDriver.js';
import type { Logger } from '@codecell/server-kit';
import { createSandboxServer } from './httpServer.js';

export const SANDBOX_VERSION = '0.1.0';

export interface Sandbox {
  readonly server: Server;
  readonly driver: VmmDriver;
  readonly pool: VmPool;
  readonly sessions: SessionManager;
  readonly runs: RunService;
  readonly health: () => Health;
  /** Base URL once listening, e.g. `http://127.0.0.1:5000`. */
  url(): string;
  listen(port: number, host: string): Promise<void>;
  /** Stops accepting, kills runs, destroys every VM and removes every file. */
  dispose(): Promise<void>;
}

/** `/dev/shm` when present: snapshot memory files and sockets stay off disk. */
function runDirFor(config: SandboxConfig, logger: Logger): string {
  const base = config.SANDBOX_RUN_DIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  reapStaleSandboxes(base, logger);
  return join(base, `codecell-${process.pid}`);
}

function createDriver(o: { config: SandboxConfig; runDir: string; logger: Logger; cgroups: HostCgroups }): VmmDriver {
  const { config, runDir, logger, cgroups } = o;
  const image = guestImage(config.CODECELL_CACHE_DIR ?? defaultCacheDir());
  if (!guestImageReady(image)) {
    throw new CodeCellError('vm_boot_failed', `the guest image is not built (expected ${image.dir}): run \`npm run setup\` (or \`npm start\`), which builds it from Debian packages`);
  }
  if (config.SANDBOX_DRIVER === 'firecracker') {
    return new FirecrackerDriver({
      firecrackerBin: config.FIRECRACKER_BIN as string,
      kernelPath: image.kernel,
      initrdPath: image.initramfs,
      workDir: runDir,
      logger,
      bootTimeoutMs: config.BOOT_TIMEOUT_MS,
    });
  }
  return new QemuDriver({
    kernel: image.kernel,
    initramfs: image.initramfs,
    runDir,
    qemuBin: config.QEMU_BIN,
    acceleration: config.SANDBOX_ACCEL,
    probeCacheDir: config.CODECELL_CACHE_DIR ?? defaultCacheDir(),
    cgroups,
    logger,
  });
}

/** Free bytes on the filesystem holding `dir` (or its nearest existing parent). */
function freeBytes(dir: string): number {
  for (let d = dir; ; d = dirname(d)) {
    try {
      const st = statfsSync(d);
      return st.bavail * st.bsize;
    } catch {
      if (d === dirname(d)) return Infinity;
    }
  }
}

/**
 * Snapshot mode keeps the template's RAM in a file under the run directory;
 * when that filesystem cannot hold it, cold-boot instead and say why, rather
 * than let QEMU die of SIGBUS on a full tmpfs.
 */
function poolModeFor(o: { config: SandboxConfig; runDir: string; memMb: number; logger: Logger }): 'snapshot' | 'boot' {
  if (o.config.POOL_MODE !== 'snapshot') return o.config.POOL_MODE;
  const need = (o.memMb + 64) * 1024 * 1024;
  const free = freeBytes(o.runDir);
  if (free >= need) return 'snapshot';
  o.logger.error(`only ${Math.floor(free / 1048576)} MiB free where the sandbox keeps VM files (${o.runDir}); snapshot templates need ${Math.ceil(need / 1048576)} MiB, so VMs will be cold-booted. Free space there or set SANDBOX_RUN_DIR.`);
  return 'boot';
}

/** Builds the sandbox and initialises its driver (acceleration probe); starts filling the pool. */
export async function createSandbox(config: SandboxConfig, logger: Logger): Promise<Sandbox> {
  const runDir = runDirFor(config, logger);
  const cgroups = new HostCgroups({ name: `codecell-sandbox-${process.pid}` });
  const driver = createDriver({ config, runDir, logger, cgroups });
  await driver.init();
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
    logger,
  });
  const sessions = new SessionManager({ pool, idleTimeoutMs: config.SESSION_IDLE_MS, logger });
  const runs = new RunService({ config, sessions, logger });
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
      },
      version: SANDBOX_VERSION,
      python: pool.python,
    };
  };
  const maxRunBodyBytes = 2 * (config.MAX_SOURCE_BYTES + config.MAX_FILES_BYTES + config.MAX_STDIN_BYTES) + 1024 * 1024;
  const server = createSandboxServer({ runs, health, logger, maxRunBodyBytes });
  pool.start();
  let disposing: Promise<void> | undefined;
  return {
    server,
    driver,
    pool,
    sessions,
    runs,
    health,
    url: () => {
      const a = server.address() as AddressInfo;
      return `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
    },
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
      })()),
  };
}
