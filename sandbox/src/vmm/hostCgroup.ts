/**
 * Host cgroups for VMM processes: cpu, memory and pids limits per VM, so a
 * runaway VMM (or a guest that found a VMM bug) cannot starve the host, under
 * one parent group whose memory cap bounds all of them together.
 * Uses cgroup v2 where its controllers are available, else the v1
 * hierarchies, else runs without one and says so ({@link cgroupWarning}).
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rmdir, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** CPU period used for `cpu.max` / `cfs_period_us`, in microseconds. */
export const CPU_PERIOD_US = 100_000;

export interface CgroupLimits {
  readonly memoryBytes: number;
  readonly pids: number;
  /** CPU quota in whole CPUs (1 = one core). */
  readonly cpus: number;
}

/** One VM's cgroup: the files a process writes its PID into, and cleanup. */
export interface VmCgroup {
  /** `cgroup.procs` files to write the VMM's PID into, before it execs. */
  readonly procsFiles: readonly string[];
  /** Removes the cgroup (its processes must have exited). Safe to call twice. */
  remove(): Promise<void>;
}

export type CgroupMode = 'v2' | 'v1' | 'none';

const V2_ROOT = '/sys/fs/cgroup';
const V1_CONTROLLERS = ['memory', 'pids', 'cpu'] as const;

/** Which cgroup layout this host offers for VMM processes. */
export function detectCgroupMode(): CgroupMode {
  try {
    const controllers = readFileSync(join(V2_ROOT, 'cgroup.controllers'), 'utf8').split(/\s+/);
    if (['memory', 'pids', 'cpu'].every((c) => controllers.includes(c))) return 'v2';
  } catch {
    // not a v2 root
  }
  if (V1_CONTROLLERS.every((c) => existsSync(join(V2_ROOT, c, 'cgroup.procs')))) return 'v1';
  return 'none';
}

/** The error-level line logged at start when VMMs must run without host cgroups. */
export function cgroupWarning(problem: string): string {
  return (
    `host cgroups are unavailable (${problem}): VMM processes run without host memory, CPU and process limits, ` +
    'so a runaway VMM, or a guest that escapes into one, can take all of the host. ' +
    'Fix: run the sandbox as root on a host with cgroup v2 (memory, pids and cpu controllers) or the v1 hierarchies mounted at /sys/fs/cgroup; ' +
    'in a container, give it a writable cgroup namespace (e.g. docker run --cgroupns=private with a writable /sys/fs/cgroup)'
  );
}

/** Options of {@link HostCgroups}. */
export interface HostCgroupsOptions {
  /** Name of the parent group, e.g. `codecell-sandbox-<pid>` (the stale reaper parses the pid). */
  readonly name: string;
  /** @default detected ({@link detectCgroupMode}) */
  readonly mode?: CgroupMode;
  /** Memory cap of the parent group, i.e. of every VMM together, bytes. */
  readonly parentMemoryBytes?: number;
}

/** Creates and removes per-VM cgroups under one parent named after this service. */
export class HostCgroups {
  #mode: CgroupMode;
  #problem: string | null = null;
  private readonly parent: string;
  private readonly parentMemoryBytes: number | undefined;
  /** Every VM cgroup created and not yet removed. */
  private readonly live = new Set<VmCgroup>();

  constructor(opts: HostCgroupsOptions) {
    this.#mode = opts.mode ?? detectCgroupMode();
    this.parent = opts.name;
    this.parentMemoryBytes = opts.parentMemoryBytes;
  }

  /** The layout in use; `none` when the host has none or {@link HostCgroups.init} could not use it. */
  get mode(): CgroupMode {
    return this.#mode;
  }

  /** Why VMMs run without host cgroups, or null when they have them. Set by {@link HostCgroups.init}. */
  get problem(): string | null {
    return this.#problem;
  }

  /**
   * Creates the parent group(s) and caps their memory. When that fails (e.g.
   * a read-only cgroupfs in a container) the mode becomes `none` and
   * {@link HostCgroups.problem} says why. Never throws.
   */
  async init(): Promise<void> {
    if (this.#mode === 'none') {
      this.#problem = `no cgroup v2 memory, pids and cpu controllers at ${V2_ROOT}/cgroup.controllers and no v1 hierarchies at ${V2_ROOT}/{memory,pids,cpu}`;
      return;
    }
    try {
      if (this.#mode === 'v2') {
        const parent = join(V2_ROOT, this.parent);
        await mkdir(parent, { recursive: true });
        await writeFile(join(V2_ROOT, 'cgroup.subtree_control'), '+memory +pids +cpu').catch(() => undefined);
        await writeFile(join(parent, 'cgroup.subtree_control'), '+memory +pids +cpu');
        if (this.parentMemoryBytes !== undefined) await writeFile(join(parent, 'memory.max'), String(this.parentMemoryBytes));
      } else {
        for (const c of V1_CONTROLLERS) await mkdir(join(V2_ROOT, c, this.parent), { recursive: true });
        if (this.parentMemoryBytes !== undefined) await writeFile(join(V2_ROOT, 'memory', this.parent, 'memory.limit_in_bytes'), String(this.parentMemoryBytes));
      }
    } catch (err) {
      this.#problem = `cannot set up ${this.#mode} cgroup ${this.parent}: ${(err as Error).message}`;
      for (const d of this.parentDirs()) await rmdir(d).catch(() => undefined);
      this.#mode = 'none';
    }
  }

  /** The parent group's directory in each hierarchy in use. */
  private parentDirs(): string[] {
    if (this.#mode === 'v2') return [join(V2_ROOT, this.parent)];
    return this.#mode === 'v1' ? V1_CONTROLLERS.map((c) => join(V2_ROOT, c, this.parent)) : [];
  }

  /** Creates a cgroup for one VM. Returns undefined when cgroups are unavailable. */
  async create(vmId: string, limits: CgroupLimits): Promise<VmCgroup | undefined> {
    let cg: VmCgroup | undefined;
    try {
      cg = this.#mode === 'v2' ? await this.createV2(vmId, limits) : this.#mode === 'v1' ? await this.createV1(vmId, limits) : undefined;
    } catch {
      return undefined; // e.g. a read-only cgroupfs in a container: run without
    }
    if (!cg) return undefined;
    const inner = cg;
    const tracked: VmCgroup = {
      procsFiles: inner.procsFiles,
      remove: async () => {
        await inner.remove();
        if (!inner.procsFiles.some((f) => existsSync(f))) this.live.delete(tracked);
      },
    };
    this.live.add(tracked);
    return tracked;
  }

  /** Removes the parent groups (after every VM's group is gone). */
  async dispose(): Promise<void> {
    // Whatever a VM left (a process still in it, a removal that gave up): kill and remove.
    for (const cg of [...this.live]) {
      for (const procs of cg.procsFiles) {
        const pids = await readFile(procs, 'utf8').catch(() => '');
        for (const pid of pids.split('\n').filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // gone already
          }
        }
      }
      await cg.remove();
    }
    for (const d of this.parentDirs()) await removeDir(d);
  }

  private async createV2(vmId: string, l: CgroupLimits): Promise<VmCgroup> {
    const parent = join(V2_ROOT, this.parent);
    await mkdir(parent, { recursive: true });
    await writeFile(join(V2_ROOT, 'cgroup.subtree_control'), '+memory +pids +cpu').catch(() => undefined);
    await writeFile(join(parent, 'cgroup.subtree_control'), '+memory +pids +cpu');
    const dir = join(parent, vmId);
    await mkdir(dir);
    await writeFile(join(dir, 'memory.max'), String(l.memoryBytes));
    await writeFile(join(dir, 'memory.swap.max'), '0').catch(() => undefined);
    await writeFile(join(dir, 'pids.max'), String(l.pids));
    await writeFile(join(dir, 'cpu.max'), `${Math.round(l.cpus * CPU_PERIOD_US)} ${CPU_PERIOD_US}`);
    return { procsFiles: [join(dir, 'cgroup.procs')], remove: onceDone(() => removeDir(dir)) };
  }

  private async createV1(vmId: string, l: CgroupLimits): Promise<VmCgroup> {
    const dirs = V1_CONTROLLERS.map((c) => join(V2_ROOT, c, this.parent, vmId));
    for (const d of dirs) await mkdir(d, { recursive: true });
    const [mem, pids, cpu] = dirs as [string, string, string];
    await writeFile(join(mem, 'memory.limit_in_bytes'), String(l.memoryBytes));
    await writeFile(join(pids, 'pids.max'), String(l.pids));
    await writeFile(join(cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
    await writeFile(join(cpu, 'cpu.cfs_quota_us'), String(Math.round(l.cpus * CPU_PERIOD_US)));
    return {
      procsFiles: dirs.map((d) => join(d, 'cgroup.procs')),
      remove: onceDone(async () => {
        let all = true;
        for (const d of dirs) all = (await removeDir(d)) && all;
        return all;
      }),
    };
  }
}

/** How long removing a cgroup may wait for the kernel to finish tearing down its last process. */
export const CGROUP_REMOVE_TIMEOUT_MS = 5_000;

/** Removes a cgroup directory; false if it was still busy after the timeout. */
async function removeDir(dir: string): Promise<boolean> {
  // rmdir fails (EBUSY) while the kernel still tears down the last process or
  // uncharges its memory: retry for a while.
  for (let i = 0; i < CGROUP_REMOVE_TIMEOUT_MS / 10; i++) {
    try {
      await rmdir(dir);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  return false;
}

/** Runs `fn` once at a time; a call after a failed attempt (false) tries again. */
function onceDone(fn: () => Promise<boolean>): () => Promise<void> {
  let p: Promise<boolean> | undefined;
  return async () => {
    p ??= fn();
    if (!(await p)) p = undefined;
  };
}
