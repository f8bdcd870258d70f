/**
 * Issue 9: the host run directory (agent sockets, QMP sockets, template RAM)
 * was `/dev/shm/codecell-<pid>`, accepted even when another local user had
 * created it first, which on a shared server lets that user swap in a fake
 * agent socket or template RAM. It is now made fresh with mkdtemp (0700), and a
 * directory that is not ours alone is refused. The stale-sandbox reaper still
 * finds the run directories of dead sandboxes under the new names.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@codecell/server-kit';
import { QemuDriver } from './qemu/QemuDriver.js';
import { createRunDir } from './runDir.js';
import { reapStaleSandboxes } from './staleReaper.js';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

function base(): string {
  const d = mkdtempSync(join(tmpdir(), 'cc-issue9-rundir-'));
  made.push(d);
  return d;
}

/** A PID that is not running (the reaper treats its directories as stale). */
function deadPid(): number {
  for (let pid = 4_000_000; ; pid--) {
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return pid;
    }
  }
}

const OTHER_UID = 65534; // nobody
const isRoot = process.getuid?.() === 0;

function driverFor(runDir: string, dir: string): QemuDriver {
  const kernel = join(dir, 'vmlinux');
  const initramfs = join(dir, 'initramfs.cpio');
  writeFileSync(kernel, 'not a kernel');
  const rootfs = join(dir, 'rootfs.img');
  writeFileSync(initramfs, 'not an initramfs');
  writeFileSync(rootfs, 'not a root image');
  return new QemuDriver({ kernel, initramfs, rootfs, runDir, acceleration: 'tcg', logger: silentLogger });
}

describe('issue 9: the run directory is ours alone', () => {
  it('is created fresh (mode 0700) even when codecell-<pid> already exists', () => {
    const b = base();
    const squatted = join(b, `codecell-${process.pid}`);
    mkdirSync(squatted, { mode: 0o777 });
    if (isRoot) chownSync(squatted, OTHER_UID, OTHER_UID);
    const dir = createRunDir(b);
    expect(dir).not.toBe(squatted);
    expect(dir.startsWith(join(b, `codecell-${process.pid}-`))).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(dir).uid).toBe(process.getuid?.());
    expect(createRunDir(b)).not.toBe(dir); // never reused
  });

  it.runIf(isRoot)('QemuDriver refuses a run directory another user created', async () => {
    const b = base();
    const runDir = join(b, 'run');
    mkdirSync(runDir, { mode: 0o700 });
    chownSync(runDir, OTHER_UID, OTHER_UID);
    await expect(driverFor(runDir, b).init()).rejects.toThrow(/run directory .* is owned by uid 65534/);
  });

  it('QemuDriver refuses a run directory other users can write, and a symbolic link', async () => {
    const b = base();
    const open = join(b, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    await expect(driverFor(open, b).init()).rejects.toThrow(/run directory .* has mode 0777/);
    const link = join(b, 'link');
    const { symlinkSync } = await import('node:fs');
    const target = join(b, 'target');
    mkdirSync(target, { mode: 0o700 });
    symlinkSync(target, link);
    await expect(driverFor(link, b).init()).rejects.toThrow(/run directory .* is a symbolic link/);
  });

  it('QemuDriver creates a missing run directory 0700 and accepts its own', async () => {
    const b = base();
    const runDir = join(b, 'nested', 'run');
    const driver = driverFor(runDir, b);
    await driver.init();
    expect(statSync(runDir).mode & 0o777).toBe(0o700);
    await driver.dispose();
  });

  it('the reaper removes run directories of dead sandboxes under the old and the new names, and keeps live ones', () => {
    const b = base();
    const dead = deadPid();
    const stale = [join(b, `codecell-${dead}`), join(b, `codecell-${dead}-AbC123`)];
    for (const d of stale) mkdirSync(d);
    const live = createRunDir(b);
    const unrelated = join(b, 'codecell-notapid');
    mkdirSync(unrelated);
    reapStaleSandboxes(b, silentLogger);
    for (const d of stale) expect(existsSync(d), d).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(unrelated)).toBe(true);
  });
});
