/**
 * Faults around the VMs: a guest that never becomes ready, a guest that
 * crashes while booting, and a full filesystem where VM files live.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCacheDir, guestImage } from '@codecell/guest';
import { loadConfig } from '../src/config.js';
import { VmPool } from '../src/pool/VmPool.js';
import { shapeFor } from '../src/runs/runPlan.js';
import { createSandbox } from '../src/server/createSandbox.js';
import { silentLogger } from '@codecell/server-kit';
import { QemuDriver } from '../src/vmm/qemu/QemuDriver.js';
import { childProcesses } from './leftovers.js';
import { runPy } from './runHelpers.js';

async function poolWithGuestArgs(extraKernelArgs: string, bootTimeoutMs: number) {
  const image = guestImage(defaultCacheDir());
  const runDir = mkdtempSync(join(tmpdir(), 'cc-faults-'));
  const driver = new QemuDriver({ kernel: image.kernel, initramfs: image.initramfs, rootfs: image.rootfs, runDir, logger: silentLogger, probeCacheDir: defaultCacheDir(), extraKernelArgs });
  await driver.init();
  const pool = new VmPool({
    driver,
    shape: shapeFor(128, 1),
    target: 0,
    mode: 'boot',
    bootTimeoutMs,
    restoreTimeoutMs: bootTimeoutMs,
    maxStarting: 1,
    warmUp: false,
    logger: silentLogger,
  });
  return {
    pool,
    dispose: async () => {
      await pool.dispose();
      await driver.dispose();
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

describe('VM faults', () => {
  it('a guest that never says ready is killed at the boot deadline, with a clear error', async () => {
    // The kernel runs `cat` on the console instead of /init: it waits forever.
    const { pool, dispose } = await poolWithGuestArgs('rdinit=/bin/cat', 3000);
    const t0 = Date.now();
    await expect(pool.acquire(shapeFor(64, 1))).rejects.toMatchObject({ code: 'vm_boot_failed', message: expect.stringMatching(/not ready after 3000 ms/) });
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(childProcesses(process.pid, /^qemu-system/)).toEqual([]);
    await dispose();
  });

  it('a guest that crashes while booting fails fast and leaves nothing behind', async () => {
    const { pool, dispose } = await poolWithGuestArgs('rdinit=/does-not-exist', 30_000);
    const t0 = Date.now();
    await expect(pool.acquire(shapeFor(64, 1))).rejects.toMatchObject({ code: 'vm_boot_failed' });
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(childProcesses(process.pid, /^qemu-system/)).toEqual([]);
    await dispose();
  });

  it.skipIf(process.getuid?.() !== 0)('a full filesystem for VM files: cold boots instead of snapshots, runs still work', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir]);
    try {
      const sb = await createSandbox(loadConfig({ POOL_SIZE: '1', SANDBOX_RUN_DIR: dir }), silentLogger);
      try {
        expect(sb.health().pool.mode).toBe('boot');
        const r = await runPy(sb.runs, 'print("still works")');
        expect(r.stdout).toBe('still works\n');
      } finally {
        await sb.dispose();
      }
    } finally {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
