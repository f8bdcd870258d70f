/**
 * The VMM driver contract against real microVMs: QEMU (KVM where it boots,
 * else TCG), and a real Firecracker where FIRECRACKER_BIN is set (it is in no
 * registry these machines reach, so CI covers that driver with the fake).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { defaultCacheDir, guestImage } from '@codecell/guest';
import { silentLogger } from '@codecell/server-kit';
import { shapeFor } from '../src/runs/runPlan.js';
import { FirecrackerDriver } from '../src/vmm/firecracker/FirecrackerDriver.js';
import { QemuDriver } from '../src/vmm/qemu/QemuDriver.js';
import { childProcesses } from './leftovers.js';
import { vmmDriverContract } from './vmmDriverContract.js';

const image = guestImage(defaultCacheDir());
const leftovers = (dir: string, comm: RegExp) => async (): Promise<string[]> => [
  ...readdirSync(dir),
  ...childProcesses(process.pid, comm).map((pid) => `process ${pid}`),
];

vmmDriverContract(
  'qemu',
  async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'cc-vmm-qemu-'));
    const driver = new QemuDriver({ kernel: image.kernel, initramfs: image.initramfs, rootfs: image.rootfs, runDir, logger: silentLogger, probeCacheDir: defaultCacheDir() });
    return { driver, leftovers: leftovers(runDir, /^qemu-system/), cleanup: async () => rmSync(runDir, { recursive: true, force: true }) };
  },
  { shape: shapeFor(128, 1), readyTimeoutMs: 60_000 },
);

const bin = process.env['FIRECRACKER_BIN'];
if (bin) {
  vmmDriverContract(
    'firecracker',
    async () => {
      const workDir = mkdtempSync(join(tmpdir(), 'cc-vmm-fc-'));
      const driver = new FirecrackerDriver({ firecrackerBin: bin, kernelPath: image.kernel, initrdPath: image.initramfs, rootfsPath: image.rootfs, workDir });
      return { driver, leftovers: leftovers(workDir, /^firecracker/), cleanup: async () => rmSync(workDir, { recursive: true, force: true }) };
    },
    { shape: shapeFor(128, 1), readyTimeoutMs: 20_000 },
  );
} else {
  describe('VMM driver contract: firecracker', () => {
    it.skip('needs FIRECRACKER_BIN (a real Firecracker binary) and a KVM host', () => undefined);
  });
}
