/**
 * Cleans up after a sandbox process that died without disposing (SIGKILL,
 * power loss): its VMM processes, its cgroups and its run directory. The
 * kernel kills a VMM whose controller dies (PR_SET_PDEATHSIG), but not one
 * spawned in the instant before the controller died; this catches those.
 * @module
 */
import { readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@codecell/server-kit';

const CGROUP_ROOTS = ['/sys/fs/cgroup', '/sys/fs/cgroup/memory', '/sys/fs/cgroup/pids', '/sys/fs/cgroup/cpu'];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Kills VMM processes whose command line points into a dead sandbox's run directory. */
function killOrphanVmms(runDirPattern: RegExp): number {
  let killed = 0;
  for (const name of list('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const m = runDirPattern.exec(cmdline);
    if (m && !alive(Number(m[1]))) {
      killPid(Number(name));
      killed++;
    }
  }
  return killed;
}

/** Removes `codecell-sandbox-<pid>` cgroups of dead sandboxes, killing what is still in them. */
function removeStaleCgroups(): number {
  let removed = 0;
  for (const root of CGROUP_ROOTS) {
    for (const name of list(root)) {
      const m = /^codecell-sandbox-(\d+)$/.exec(name);
      if (!m || alive(Number(m[1]))) continue;
      const parent = join(root, name);
      for (const child of list(parent)) {
        const dir = join(parent, child);
        let procs = '';
        try {
          procs = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
        } catch {
          continue; // a file, not a group
        }
        for (const pid of procs.split('\n').filter(Boolean)) killPid(Number(pid));
      }
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          for (const child of list(parent)) {
            try {
              rmdirSync(join(parent, child));
            } catch {
              // a control file, or not empty yet
            }
          }
          rmdirSync(parent);
          removed++;
          break;
        } catch {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25); // processes take a moment to die
        }
      }
    }
  }
  return removed;
}

/** Run directory names: `codecell-<pid>-XXXXXX` (mkdtemp), and `codecell-<pid>` of older versions. */
const RUN_DIR_NAME = /^codecell-(\d+)(?:-[A-Za-z0-9]+)?$/;

/** Removes run directories of sandboxes that no longer exist. */
function removeStaleRunDirs(base: string): number {
  let removed = 0;
  for (const name of list(base)) {
    const m = RUN_DIR_NAME.exec(name);
    if (m && !alive(Number(m[1]))) {
      try {
        rmSync(join(base, name), { recursive: true, force: true });
        removed++;
      } catch {
        // another user's directory: not ours to remove
      }
    }
  }
  return removed;
}

/** Reaps everything dead sandboxes left on this host. Synchronous: runs once at start. */
export function reapStaleSandboxes(runDirBase: string, logger: Logger): void {
  const escaped = runDirBase.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const vmms = killOrphanVmms(new RegExp(`${escaped}/codecell-(\\d+)(?:-[A-Za-z0-9]+)?/`));
  const cgroups = removeStaleCgroups();
  const dirs = removeStaleRunDirs(runDirBase);
  if (vmms + cgroups + dirs > 0) logger.warn('cleaned up after a sandbox that died', { vmms, cgroups, runDirs: dirs });
}
