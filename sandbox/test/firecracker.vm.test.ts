/**
 * The driver contract against a real Firecracker, where one is configured:
 * FIRECRACKER_BIN (and /dev/kvm that can boot a guest). Firecracker is in no
 * registry this project's machines reach, so CI skips this file; the driver is
 * covered there by FirecrackerDriver.test.ts against the fake Firecracker.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createSandbox } from '../src/server/createSandbox.js';
import { silentLogger } from '@codecell/server-kit';
import { driverContract } from './driverContract.js';

const bin = process.env['FIRECRACKER_BIN'];

if (bin) {
  driverContract('firecracker', async () => {
    const base = mkdtempSync(join(tmpdir(), 'cc-fc-contract-'));
    const config = loadConfig({ SANDBOX_DRIVER: 'firecracker', FIRECRACKER_BIN: bin, POOL_SIZE: '2', SANDBOX_RUN_DIR: base });
    const sandbox = await createSandbox(config, silentLogger);
    return { runs: sandbox.runs, runDir: sandbox.runDir, vmmComm: /^firecracker/, dispose: () => sandbox.dispose() };
  });
} else {
  describe('driver contract: firecracker', () => {
    it.skip('needs FIRECRACKER_BIN (a real Firecracker binary) and a KVM host', () => undefined);
  });
}
