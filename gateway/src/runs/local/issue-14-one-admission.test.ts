/**
 * Issue 14: one admission point. The in-process backend sends the sandbox no
 * more runs at once than the sandbox says it executes (its health's
 * `limits.maxConcurrentRuns`), and has no concurrency setting of its own.
 */
import { describe, expect, it } from 'vitest';
import { runCodeInputSchema } from '@codecell/protocol';
import type { Health } from '@codecell/protocol';
import { silentLogger } from '@codecell/server-kit';
import { FakeSandbox } from '../../test/FakeSandbox.js';
import { RunManager } from '../RunManager.js';
import { DEFAULT_SANDBOX_SLOTS, LocalRuns } from './LocalRuns.js';

class SlotsSandbox extends FakeSandbox {
  constructor(readonly slots: number | undefined) {
    super();
  }
  override health(): Promise<Health> {
    return Promise.resolve({ limits: { maxConcurrentRuns: this.slots } } as unknown as Health);
  }
}

const input = runCodeInputSchema.parse({ files: [{ path: 'main.py', content: 'print(1)' }] });

async function submitMany(slots: number | undefined, n: number): Promise<{ sandbox: SlotsSandbox; backend: LocalRuns; runs: RunManager }> {
  const sandbox = new SlotsSandbox(slots);
  const backend = new LocalRuns({ sandbox, logger: silentLogger });
  const runs = new RunManager({ backend, logger: silentLogger, defaults: { timeoutMs: 5000, memoryMb: 128, vcpus: 1 } });
  await runs.submit({ ...input });
  await expect.poll(() => backend.slots).toBe(slots ?? DEFAULT_SANDBOX_SLOTS);
  for (let i = 1; i < n; i++) await runs.submit({ ...input });
  return { sandbox, backend, runs };
}

describe('issue 14: the sandbox admits runs into execution, the gateway only queues', () => {
  it('sends at most the sandbox MAX_CONCURRENT_RUNS at once, the rest wait in the gateway queue', async () => {
    const { sandbox, runs } = await submitMany(2, 6);
    await expect.poll(() => sandbox.runs.length).toBe(2);
    expect(runs.stats()).toMatchObject({ active: 2, queued: 4 });
    sandbox.runs[0]?.exit();
    await expect.poll(() => sandbox.runs.length).toBe(3);
    await runs.dispose();
  });

  it('follows a sandbox that allows more', async () => {
    const { sandbox, runs } = await submitMany(7, 9);
    await expect.poll(() => sandbox.runs.length).toBe(7);
    await runs.dispose();
  });

  it(`keeps ${DEFAULT_SANDBOX_SLOTS} (the sandbox default) when the sandbox does not say`, async () => {
    const { sandbox, runs } = await submitMany(undefined, 6);
    await expect.poll(() => sandbox.runs.length).toBe(DEFAULT_SANDBOX_SLOTS);
    await runs.dispose();
  });
});
