/**
 * The VMM driver contract against the two fakes: the in-memory FakeVmm, and
 * FirecrackerDriver driving the fake Firecracker process (its guest speaking
 * the agent protocol over the fake vsock).
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FirecrackerDriver } from '../src/vmm/firecracker/FirecrackerDriver.js';
import { FakeVmm } from './fakeVmm/FakeVmm.js';
import { vmmDriverContract } from './vmmDriverContract.js';

const FAKE_BIN = fileURLToPath(new URL('./fakeFirecracker/fake-firecracker', import.meta.url));
const SHAPE = { memMb: 256, vcpus: 1 };

vmmDriverContract(
  'fake VMM',
  async () => {
    const driver = new FakeVmm();
    return { driver, leftovers: async () => driver.live().map((v) => v.id), cleanup: async () => undefined };
  },
  { shape: SHAPE, readyTimeoutMs: 2_000 },
);

vmmDriverContract(
  'fake Firecracker',
  async () => {
    const root = await mkdtemp(join(tmpdir(), 'cc-fc-contract-'));
    const files = { kernel: join(root, 'vmlinux'), initrd: join(root, 'initrd'), rootfs: join(root, 'root.erofs'), kvm: join(root, 'kvm') };
    for (const f of Object.values(files)) await writeFile(f, 'x');
    const bin = join(root, 'fake-firecracker-agent.sh');
    await writeFile(bin, `#!/bin/sh\nexport FAKE_FC_GUEST=agent\nexec '${FAKE_BIN}' "$@"\n`, { mode: 0o755 });
    const workDir = join(root, 'work');
    const driver = new FirecrackerDriver({
      firecrackerBin: bin,
      kernelPath: files.kernel,
      initrdPath: files.initrd,
      rootfsPath: files.rootfs,
      workDir,
      kvmDevicePath: files.kvm,
      bootTimeoutMs: 10_000,
    });
    return {
      driver,
      // Each VM's directory goes only after its process has exited.
      leftovers: async () => readdir(workDir).catch(() => []),
      cleanup: () => rm(root, { recursive: true, force: true }),
    };
  },
  { shape: SHAPE, readyTimeoutMs: 5_000 },
);
