/**
 * The sandbox's core (warm pool, sessions, runs) on the fake VMM, for unit
 * tests: configured from environment-style variables like the real one.
 * @module
 */
import { silentLogger } from '@codecell/server-kit';
import { loadConfig } from '../../src/config.js';
import { SessionManager } from '../../src/pool/SessionManager.js';
import { VmPool } from '../../src/pool/VmPool.js';
import type { PoolMode } from '../../src/pool/VmPool.js';
import { RunService } from '../../src/runs/RunService.js';
import { shapeFor } from '../../src/runs/runPlan.js';
import { FakeVmm } from './FakeVmm.js';

/** A fake-VMM sandbox core; dispose it after the test. */
export interface FakeCore {
  readonly driver: FakeVmm;
  readonly pool: VmPool;
  readonly sessions: SessionManager;
  readonly runs: RunService;
  readonly dispose: () => Promise<void>;
}

/** Builds and starts the core. `env` is what loadConfig parses (MAX_SESSIONS, MAX_GUEST_MEMORY_MB…). */
export function fakeCore(
  o: { env?: Record<string, string>; poolTarget?: number; mode?: PoolMode; maxStarting?: number; failBoots?: number; onRunEnd?: (status: string) => void } = {},
): FakeCore {
  const driver = new FakeVmm();
  driver.failBoots = o.failBoots ?? 0;
  const config = loadConfig(o.env ?? {});
  const pool = new VmPool({
    driver,
    shape: shapeFor(config.DEFAULT_MEM_MB, 1),
    target: o.poolTarget ?? 1,
    mode: o.mode ?? 'snapshot',
    bootTimeoutMs: 2000,
    restoreTimeoutMs: 2000,
    maxStarting: o.maxStarting ?? 1,
    warmUp: false,
    maxGuestMemoryMb: config.MAX_GUEST_MEMORY_MB,
    logger: silentLogger,
  });
  const sessions = new SessionManager({ pool, idleTimeoutMs: config.SESSION_IDLE_MS, maxSessions: config.MAX_SESSIONS, logger: silentLogger });
  const runs = new RunService({ config, sessions, logger: silentLogger, ...(o.onRunEnd ? { onRunEnd: o.onRunEnd } : {}) });
  pool.start();
  const dispose = async (): Promise<void> => {
    await runs.dispose();
    await sessions.dispose();
    await pool.dispose();
    await driver.dispose();
  };
  return { driver, pool, sessions, runs, dispose };
}
