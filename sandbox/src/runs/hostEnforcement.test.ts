/**
 * The host enforces every limit even when the guest misbehaves (issue 2:
 * "each enforced on the host side even if the guest misbehaves"), tested with
 * a fake guest agent that ignores kills, floods output or sends garbage.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fakeCore } from '../../test/fakeVmm/fakeCore.js';
import { collect, runPy, until } from '../../test/runHelpers.js';
import { KILL_GRACE_MS } from './RunJob.js';

const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const d of disposers.splice(0)) await d();
});

function setup(o: { sessionIdleMs?: number; failBoots?: number } = {}) {
  const core = fakeCore({ env: { SESSION_IDLE_MS: String(o.sessionIdleMs ?? 60_000) }, failBoots: o.failBoots ?? 0 });
  disposers.push(() => core.dispose());
  return core;
}

describe('host-side enforcement with a misbehaving guest (fake VMM)', () => {
  it('runs a well-behaved program', async () => {
    const { runs } = setup();
    const r = await runPy(runs, 'print:hi\n');
    expect(r.stdout).toBe('hi\n');
    expect(r.exit?.status).toBe('ok');
  });

  it('times a run out and destroys the VM when the guest ignores the kill', async () => {
    const { runs, driver } = setup();
    const t0 = Date.now();
    const r = await runPy(runs, 'deaf', { limits: { timeoutMs: 300 } });
    expect(r.exit?.status).toBe('timeout');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300 + KILL_GRACE_MS - 50);
    expect(driver.vms.find((v) => v.id === r.vmId)?.destroyed).toBe(true);
  });

  it('cuts output at the limit on the host when the guest does not, and destroys a guest that keeps going', async () => {
    const { runs, driver } = setup();
    const r = await runPy(runs, 'flood-deaf', { limits: { outputBytes: 50_000, timeoutMs: 30_000 } });
    expect(r.exit?.status).toBe('output_limit');
    expect(Buffer.byteLength(r.stdout)).toBeLessThanOrEqual(50_000);
    expect(Buffer.byteLength(r.stdout)).toBeGreaterThan(40_000);
    expect(driver.vms.find((v) => v.id === r.vmId)?.destroyed).toBe(true);
  });

  it('reports output_limit when a guest that obeys is killed for flooding', async () => {
    const { runs } = setup();
    const r = await runPy(runs, 'flood', { limits: { outputBytes: 20_000 } });
    expect(r.exit?.status).toBe('output_limit');
  });

  it('stops a run on request and destroys the VM if the guest ignores it', async () => {
    const { runs, driver } = setup();
    const job = runs.start({ language: 'py', source: 'deaf', limits: { timeoutMs: 30_000 } });
    const done = collect(job);
    await until(() => job.state === 'running');
    job.kill();
    const r = await done;
    expect(r.exit?.status).toBe('killed');
    expect(driver.vms.find((v) => v.id === r.vmId)?.destroyed).toBe(true);
  });

  it('treats a garbage frame from the guest as a crash: internal_error, VM gone, next run fine', async () => {
    const { runs, driver } = setup();
    const r = await runPy(runs, 'garbage');
    expect(r.error?.code).toBe('vm_crashed');
    expect(r.exit?.status).toBe('internal_error');
    expect(driver.vms.find((v) => v.id === r.vmId)?.destroyed).toBe(true);
    expect((await runPy(runs, 'print:ok')).exit?.status).toBe('ok');
  });

  it('gives a session one VM across runs and destroys it when the session idles out', async () => {
    const { runs, driver } = setup({ sessionIdleMs: 1000 });
    const a = await runPy(runs, 'print:1', { sessionId: 's1' });
    const b = await runPy(runs, 'print:2', { sessionId: 's1' });
    expect(b.vmId).toBe(a.vmId);
    const vm = driver.vms.find((v) => v.id === a.vmId);
    expect(vm?.destroyed).toBe(false);
    await until(() => vm?.destroyed === true, 5000);
  });

  it('fails runs with vm_boot_failed after repeated boot failures, then recovers', async () => {
    const { runs, driver } = setup({ failBoots: 3 });
    const r = await runPy(runs, 'print:x');
    expect(r.error?.code).toBe('vm_boot_failed');
    expect(driver.failBoots).toBe(0);
    await until(() => driver.live().length > 0, 10_000);
    expect((await runPy(runs, 'print:back')).stdout).toBe('back');
  });
});
