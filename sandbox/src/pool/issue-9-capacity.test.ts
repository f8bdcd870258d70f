/**
 * Issue 9: one client could exhaust the host. Nothing counted session VMs
 * (each made-up room id got a VM kept 5 minutes) and nothing bounded the
 * guest memory of all VMs together. Now MAX_SESSIONS caps session VMs (the
 * least recently used idle session is evicted first) and MAX_GUEST_MEMORY_MB
 * caps their memory, each refusal a `capacity_exceeded` naming the limit.
 * Fake VMM: no real VMs, so the caps can be tested at any size.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CodeCellError } from '@codecell/protocol';
import { shapeFor } from '../runs/runPlan.js';
import type { RunService } from '../runs/RunService.js';
import { fakeCore } from '../../test/fakeVmm/fakeCore.js';
import { collect, runPy, until } from '../../test/runHelpers.js';

const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const d of disposers.splice(0)) await d();
});

/** One default-shaped VM, MiB of guest memory. */
const VM_MB = shapeFor(128, 1).memMb;

function setup(env: Record<string, string>, o: { poolTarget?: number } = {}) {
  const core = fakeCore({
    env: { MAX_CONCURRENT_RUNS: '64', MAX_QUEUED_RUNS: '64', RUN_TIMEOUT_MS: '60000', MAX_MEM_MB: '256', ...env },
    poolTarget: o.poolTarget ?? 0,
    maxStarting: 2,
  });
  disposers.push(() => core.dispose());
  return core;
}

/** Starts a run that never ends by itself (the fake guest ignores it); resolves once it is running. */
async function busy(runs: RunService, sessionId: string) {
  const job = runs.start({ language: 'py', source: 'deaf', sessionId });
  const done = collect(job);
  await until(() => job.state === 'running');
  return { job, done };
}

function refusal(fn: () => unknown): CodeCellError | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err as CodeCellError;
  }
}

describe('issue 9: MAX_SESSIONS', () => {
  it('50 runs with distinct session ids get capacity_exceeded past the cap, before any VM is touched', async () => {
    const { runs, driver } = setup({ MAX_SESSIONS: '4' });
    const accepted: string[] = [];
    const refused: CodeCellError[] = [];
    for (let i = 0; i < 50; i++) {
      const err = refusal(() => accepted.push(runs.start({ language: 'py', source: 'deaf', sessionId: `room-${i}` }).jobId));
      if (err) refused.push(err);
    }
    expect(accepted).toHaveLength(4);
    expect(refused).toHaveLength(46);
    for (const e of refused) expect(e).toMatchObject({ code: 'capacity_exceeded', message: expect.stringMatching(/MAX_SESSIONS/) as string });
    expect(refused[0]?.message).toMatch(/all 4 session VMs are busy/);
    await until(() => runs.stats().active === 4);
    expect(driver.live().length).toBeLessThanOrEqual(4 + 1); // the sessions' VMs (+ the template)
  });

  it('evicts the least recently used idle session to make room, keeping the others VMs', async () => {
    const { runs, driver } = setup({ MAX_SESSIONS: '2' });
    const s1 = await runPy(runs, 'print:a', { sessionId: 's1' });
    const s2 = await runPy(runs, 'print:b', { sessionId: 's2' });
    const s1again = await runPy(runs, 'print:c', { sessionId: 's1' }); // s1 is now the most recent
    expect(s1again.vmId).toBe(s1.vmId);
    const s3 = await runPy(runs, 'print:d', { sessionId: 's3' });
    expect(s3.exit?.status).toBe('ok');
    const liveIds = driver.live().map((v) => v.id);
    expect(liveIds).toContain(s1.vmId);
    expect(liveIds).toContain(s3.vmId);
    expect(liveIds).not.toContain(s2.vmId); // evicted: its VM destroyed
    const s1later = await runPy(runs, 'print:e', { sessionId: 's1' });
    expect(s1later.vmId).toBe(s1.vmId);
  });

  it('refuses a new session while every session is busy, and admits it once one is idle', async () => {
    const { runs } = setup({ MAX_SESSIONS: '2' });
    const a = await busy(runs, 'busy-a');
    await busy(runs, 'busy-b');
    expect(refusal(() => runs.start({ language: 'py', source: 'print:x', sessionId: 'late' }))).toMatchObject({
      code: 'capacity_exceeded',
      message: expect.stringMatching(/all 2 session VMs are busy.*MAX_SESSIONS/) as string,
    });
    // Runs of sessions that already exist still queue behind their own session.
    expect(refusal(() => runs.start({ language: 'py', source: 'print:x', sessionId: 'busy-a' }))).toBeUndefined();
    a.job.kill();
    await a.done;
    await until(() => runs.stats().active === 1);
    const late = await runPy(runs, 'print:x', { sessionId: 'late' });
    expect(late.exit?.status).toBe('ok');
  });
});

describe('issue 9: MAX_GUEST_MEMORY_MB', () => {
  it('never starts VMs past the memory cap, counting the warm pool and its template', async () => {
    const { pool, driver } = setup({ MAX_GUEST_MEMORY_MB: String(3 * VM_MB + 10), MAX_SESSIONS: '8' }, { poolTarget: 5 });
    await until(() => pool.stats().idle === 2);
    await new Promise((r) => setTimeout(r, 100));
    expect(pool.stats().idle).toBe(2); // the template holds the third VM's memory
    expect(pool.stats().guestMemoryMb).toBe(3 * VM_MB);
    expect(driver.live().length).toBeLessThanOrEqual(2);
  });

  it('refuses a run with capacity_exceeded naming MAX_GUEST_MEMORY_MB when busy VMs hold all of it', async () => {
    const { runs } = setup({ MAX_GUEST_MEMORY_MB: String(3 * VM_MB + 10), MAX_SESSIONS: '8' });
    const a = await busy(runs, 'a');
    await busy(runs, 'b'); // + the template: 3 VMs' worth
    const refused = await runPy(runs, 'print:x', { sessionId: 'c' });
    expect(refused.error).toMatchObject({ code: 'capacity_exceeded', message: expect.stringMatching(/MAX_GUEST_MEMORY_MB/) as string });
    const oneShot = await runPy(runs, 'print:x');
    expect(oneShot.error?.code).toBe('capacity_exceeded');
    // Once a session is idle, its VM is evicted to make room.
    a.job.kill();
    await a.done;
    const later = await runPy(runs, 'print:y', { sessionId: 'c' });
    expect(later.exit?.status).toBe('ok');
    expect(later.stdout).toBe('y');
  });

  it('evicts the least recently used idle session when guest memory is full', async () => {
    const { runs, driver } = setup({ MAX_GUEST_MEMORY_MB: String(4 * VM_MB + 10), MAX_SESSIONS: '8' });
    const old = await runPy(runs, 'print:old', { sessionId: 'old' });
    const recent = await runPy(runs, 'print:recent', { sessionId: 'recent' });
    await busy(runs, 'busy'); // template + old + recent + busy: full
    const fresh = await runPy(runs, 'print:fresh', { sessionId: 'fresh' });
    expect(fresh.exit?.status).toBe('ok');
    const live = driver.live().map((v) => v.id);
    expect(live).not.toContain(old.vmId);
    expect(live).toContain(recent.vmId);
  });

  it('gives memory back when VMs are destroyed', async () => {
    const { runs, pool } = setup({ MAX_GUEST_MEMORY_MB: String(2 * VM_MB + 10), MAX_SESSIONS: '8' });
    for (let i = 0; i < 5; i++) expect((await runPy(runs, `print:${i}`)).exit?.status).toBe('ok');
    await until(() => pool.stats().guestMemoryMb === VM_MB); // only the template is left
  });
});
