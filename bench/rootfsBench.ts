/**
 * Root image format (issue 10): the same package tree packed as erofs,
 * squashfs and ext4, each built into its own cache directory, then for each:
 * image size and build time, cold boot to agent ready, snapshot restore to
 * ready, and the PSS of idle clones. The measurements that chose the default
 * in guest/build/rootImage.ts.
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultCacheDir, guestImage, readManifest } from '@codecell/guest';
import type { GuestImage } from '@codecell/guest';
import type { AgentConnection } from '../sandbox/src/agent/AgentConnection.js';
import { shapeFor } from '../sandbox/src/runs/runPlan.js';
import { warmUp } from '../sandbox/src/pool/warmUp.js';
import { QemuDriver } from '../sandbox/src/vmm/qemu/QemuDriver.js';
import type { VmHandle } from '../sandbox/src/vmm/VmmDriver.js';
import { silentLogger } from '@codecell/server-kit';
import { childProcesses } from '../sandbox/test/leftovers.js';
import type { BenchSuite } from './run.js';
import { coldBoots, makeTemplate, restoreReseeded } from './vmTimings.js';
import { ms, summarize, table } from './stats.js';
import type { Summary } from './stats.js';

const FORMATS = ['erofs', 'squashfs', 'ext4'] as const;
const BOOTS = 3;
const RESTORES = 10;
const IDLE_CLONES = 4;
const REPO = join(import.meta.dirname, '..');

/** Builds the image for one format in `<cache>/bench-rootfs-<format>` (debs shared with the main cache). */
async function buildFormat(format: string, log: (m: string) => void): Promise<{ cacheDir: string; image: GuestImage }> {
  const main = defaultCacheDir();
  const cacheDir = join(main, `bench-rootfs-${format}`);
  mkdirSync(cacheDir, { recursive: true });
  if (!existsSync(join(cacheDir, 'debs'))) symlinkSync(join(main, 'debs'), join(cacheDir, 'debs'));
  const env = { ...process.env, CODECELL_CACHE_DIR: cacheDir, CODECELL_ROOTFS_FORMAT: format };
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'guest/build/main.ts')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d: Buffer) => log(`${format}: ${d.toString().trim()}`));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`guest build for ${format} failed (${code})`))));
  });
  return { cacheDir, image: guestImage(cacheDir, format as GuestImage['rootfsFormat']) };
}

function pssMb(vms: readonly VmHandle[]): number {
  let pss = 0;
  for (const vm of vms) {
    const text = readFileSync(`/proc/${vm.pid ?? 0}/smaps_rollup`, 'utf8');
    pss += Number(/^Pss:\s+(\d+)/m.exec(text)?.[1] ?? 0);
  }
  return pss / 1024 / vms.length;
}

interface FormatResult {
  readonly format: string;
  readonly imageMb: number;
  readonly packS: number;
  readonly boot: Summary;
  readonly restore: Summary;
  readonly idlePssMb: number;
}

async function measure(format: string, image: GuestImage, log: (m: string) => void): Promise<FormatResult> {
  const runDir = mkdtempSync(join(tmpdir(), `cc-bench-rootfs-${format}-`));
  const driver = new QemuDriver({ kernel: image.kernel, initramfs: image.initramfs, rootfs: image.rootfs, runDir, logger: silentLogger, probeCacheDir: defaultCacheDir() });
  await driver.init();
  const shape = shapeFor(128, 1);
  try {
    const boots = await coldBoots({ driver, shape, n: BOOTS, readyTimeoutMs: 120_000 });
    const { template } = await makeTemplate({ driver, shape, readyTimeoutMs: 120_000 });
    const restores: number[] = [];
    for (let i = 0; i < RESTORES; i++) {
      const { vm, agent, ms: restoreMs } = await restoreReseeded(driver, template);
      restores.push(restoreMs);
      agent.dispose();
      await vm.destroy();
    }
    // Idle clones as the pool keeps them: restored, reseeded, one warm-up run.
    const idle: { vm: VmHandle; agent: AgentConnection }[] = [];
    for (let i = 0; i < IDLE_CLONES; i++) {
      const { vm, agent } = await restoreReseeded(driver, template);
      await warmUp(agent);
      idle.push({ vm, agent });
    }
    await new Promise((r) => setTimeout(r, 1000));
    const idlePssMb = pssMb(idle.map((c) => c.vm));
    for (const c of idle) {
      c.agent.dispose();
      await c.vm.destroy();
    }
    const m = readManifest(image);
    const r = { format, imageMb: m.imageBytes / 1048576, packS: m.packMs / 1000, boot: summarize(boots), restore: summarize(restores), idlePssMb };
    log(`${format}: boot p50 ${ms(r.boot.p50)} ms, restore p50 ${ms(r.restore.p50)} ms, idle PSS ${r.idlePssMb.toFixed(0)} MiB`);
    return r;
  } finally {
    await driver.dispose();
    rmSync(runDir, { recursive: true, force: true });
    if (childProcesses(process.pid, /^qemu-system/).length > 0) log('warning: QEMU processes left behind');
  }
}

export const rootfsBench: BenchSuite = {
  name: 'rootfs',
  async run(log) {
    const built: { format: string; image: GuestImage }[] = [];
    for (const format of FORMATS) built.push({ format, ...(await buildFormat(format, log)) });
    const results: FormatResult[] = [];
    for (const b of built) results.push(await measure(b.format, b.image, log));
    const tree = readManifest(built[0]?.image as GuestImage).treeBytes / 1048576;
    return [
      `The same root tree (${tree.toFixed(0)} MiB of files: every runtime) packed three ways; QEMU under the acceleration the sandbox uses, 1 vCPU, ${shapeFor(128, 1).memMb} MiB guest RAM. Idle PSS: ${IDLE_CLONES} snapshot clones after one warm-up run each, mean per QEMU process.`,
      '',
      table(
        ['format', 'image MiB', 'pack s', 'cold boot → ready p50 / max ms', 'restore → ready p50 / p95 ms', 'idle clone PSS MiB'],
        results.map((r) => [r.format, r.imageMb.toFixed(0), r.packS.toFixed(1), `${ms(r.boot.p50)} / ${ms(r.boot.max)}`, `${ms(r.restore.p50)} / ${ms(r.restore.p95)}`, r.idlePssMb.toFixed(0)]),
      ),
    ].join('\n');
  },
};
