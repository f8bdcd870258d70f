/**
 * The driver contract against real QEMU microVMs (KVM where it boots, else TCG).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createSandbox } from '../src/server/createSandbox.js';
import { silentLogger } from '@codecell/server-kit';
import { driverContract } from './driverContract.js';

driverContract('qemu', async () => {
  const base = mkdtempSync(join(tmpdir(), 'cc-contract-'));
  const config = loadConfig({ POOL_SIZE: '2', SANDBOX_RUN_DIR: base, MAX_CONCURRENT_RUNS: '4', SESSION_IDLE_MS: '60000' });
  const sandbox = await createSandbox(config, silentLogger);
  return {
    runs: sandbox.runs,
    runDir: sandbox.runDir,
    vmmComm: /^qemu-system/,
    dispose: () => sandbox.dispose(),
  };
});
