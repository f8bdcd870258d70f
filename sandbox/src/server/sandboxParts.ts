/**
 * The steps {@link createSandbox} is made of: the shared token, the run
 * directory, host cgroups, the VMM driver and the pool mode. Each says what is
 * wrong (and how to fix it) when the host does not allow it.
 * @module
 */
import { existsSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CodeCellError, RUNTIME_IDS, runtimeInfos } from '@codecell/protocol';
import type { RuntimeId, RuntimesResponse } from '@codecell/protocol';
import { defaultCacheDir, guestImage, guestImageReady, readManifest } from '@codecell/guest';
import { SecretFileError, ensureSecretFile } from '@codecell/server-kit';
import type { Logger } from '@codecell/server-kit';
import { hostFacts } from '../config.js';
import type { SandboxConfig } from '../config.js';
import { HostCgroups, cgroupWarning } from '../vmm/hostCgroup.js';
import type { CgroupMode } from '../vmm/hostCgroup.js';
import { createRunDir } from '../vmm/runDir.js';
import { TemplateStore } from '../vmm/templateStore.js';
import { reapStaleSandboxes } from '../vmm/staleReaper.js';
import { QemuDriver } from '../vmm/qemu/QemuDriver.js';
import { FirecrackerDriver } from '../vmm/firecracker/FirecrackerDriver.js';
import type { VmmDriver } from '../vmm/VmmDriver.js';

const MIB = 1024 * 1024;
/** Share of the host's memory the parent cgroup of all VMMs may use at most. */
const HOST_MEMORY_SHARE = 0.9;

/**
 * The secret the gateway must send: SANDBOX_TOKEN, else the token file (made
 * on first start, mode 0600, before the sandbox listens, so a gateway started
 * right after finds it).
 * @throws CodeCellError `sandbox_unavailable` when the token file cannot be trusted
 */
export function resolveToken(config: SandboxConfig, logger: Logger): string {
  if (config.SANDBOX_TOKEN !== undefined) return config.SANDBOX_TOKEN;
  try {
    const { secret, created } = ensureSecretFile(config.SANDBOX_TOKEN_FILE);
    if (created) logger.info(`generated the sandbox token in ${config.SANDBOX_TOKEN_FILE} (mode 0600); the gateway reads it from there`);
    return secret;
  } catch (err) {
    const why = err instanceof SecretFileError ? err.message : String(err);
    throw new CodeCellError('sandbox_unavailable', `cannot use the sandbox token file: ${why}. Or set SANDBOX_TOKEN (and the same in the gateway)`, { cause: err });
  }
}

/** Memory cap of the parent cgroup of all VMMs, MiB (see {@link hostCgroupsFor}). */
export function hostCgroupLimitMb(config: SandboxConfig): number {
  return Math.min(2 * config.MAX_GUEST_MEMORY_MB, Math.floor(HOST_MEMORY_SHARE * hostFacts().totalMemMb));
}

/** Reaps what dead sandboxes left, then makes this one's run directory, fresh (`/dev/shm` when present: snapshot memory stays off disk). */
export function runDirFor(config: SandboxConfig, logger: Logger): string {
  const base = config.SANDBOX_RUN_DIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  reapStaleSandboxes(base, logger);
  return createRunDir(base);
}

/**
 * The parent cgroup of every VMM, capped at twice MAX_GUEST_MEMORY_MB (room
 * for each VMM's own overhead beyond guest RAM) and at most 90% of the host.
 * Logs an error line when the host offers no usable cgroups.
 */
export async function hostCgroupsFor(o: { config: SandboxConfig; logger: Logger; mode?: CgroupMode | undefined }): Promise<HostCgroups> {
  const limitMb = hostCgroupLimitMb(o.config);
  const cgroups = new HostCgroups({ name: `codecell-sandbox-${process.pid}`, parentMemoryBytes: limitMb * MIB, ...(o.mode ? { mode: o.mode } : {}) });
  await cgroups.init();
  if (cgroups.problem !== null) o.logger.error(cgroupWarning(cgroups.problem));
  return cgroups;
}

/** The VMM driver the configuration asks for, on the current guest image. */
export function createDriver(o: { config: SandboxConfig; runDir: string; logger: Logger; cgroups: HostCgroups }): VmmDriver {
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
      rootfsPath: image.rootfs,
      workDir: runDir,
      logger,
      bootTimeoutMs: config.BOOT_TIMEOUT_MS,
    });
  }
  return new QemuDriver({
    kernel: image.kernel,
    initramfs: image.initramfs,
    rootfs: image.rootfs,
    runDir,
    qemuBin: config.QEMU_BIN,
    acceleration: config.SANDBOX_ACCEL,
    probeCacheDir: config.CODECELL_CACHE_DIR ?? defaultCacheDir(),
    ...(config.SANDBOX_TEMPLATE_DIR === 'off' ? {} : { templateStore: new TemplateStore(config.SANDBOX_TEMPLATE_DIR ?? join(config.CODECELL_CACHE_DIR ?? defaultCacheDir(), 'templates')) }),
    cgroups,
    logger,
  });
}

/** The versions of the runtimes in the guest image, from its manifest (read once at start). */
export function imageRuntimes(config: SandboxConfig): RuntimesResponse {
  const manifest = readManifest(guestImage(config.CODECELL_CACHE_DIR ?? defaultCacheDir()));
  const versions: Partial<Record<RuntimeId, string>> = {};
  for (const id of RUNTIME_IDS) {
    const v = manifest.runtimes?.[id]?.version;
    if (v) versions[id] = v;
  }
  return { runtimes: runtimeInfos(versions) };
}

/** Free bytes on the filesystem holding `dir` holding `dir` (or its nearest existing parent). */
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
export function poolModeFor(o: { config: SandboxConfig; runDir: string; memMb: number; logger: Logger }): 'snapshot' | 'boot' {
  if (o.config.POOL_MODE !== 'snapshot') return o.config.POOL_MODE;
  const need = (o.memMb + 64) * MIB;
  const free = freeBytes(o.runDir);
  if (free >= need) return 'snapshot';
  o.logger.error(`only ${Math.floor(free / MIB)} MiB free where the sandbox keeps VM files (${o.runDir}); snapshot templates need ${Math.ceil(need / MIB)} MiB, so VMs will be cold-booted. Free space there or set SANDBOX_RUN_DIR.`);
  return 'boot';
}
