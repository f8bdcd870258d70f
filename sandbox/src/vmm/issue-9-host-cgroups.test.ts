/**
 * Issue 9: the parent host cgroup had no memory cap (each VM's group did,
 * but nothing bounded all of them together), and when host cgroups were
 * unavailable the sandbox ran without them silently. Now the parent group
 * gets a memory cap, and a host without usable cgroups is reported: an
 * error-level line at start that says what is lost and how to fix it, and a
 * field in `/healthz` (tested over HTTP in issue-9-sandbox.vm.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HostCgroups, cgroupWarning, detectCgroupMode } from './hostCgroup.js';

const MIB = 1024 * 1024;
const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const d of disposers.splice(0)) await d();
});

const mode = detectCgroupMode();
const canUseCgroups = mode !== 'none' && process.getuid?.() === 0;

describe('issue 9: host cgroups', () => {
  it('reports a host without cgroups: what is lost and how to fix it', async () => {
    const cg = new HostCgroups({ name: `codecell-issue9-none-${process.pid}`, mode: 'none', parentMemoryBytes: 512 * MIB });
    await cg.init();
    expect(cg.mode).toBe('none');
    expect(cg.problem).toMatch(/cgroup/);
    const warning = cgroupWarning(cg.problem ?? '');
    expect(warning).toMatch(/without host memory, CPU and process limits/);
    expect(warning).toMatch(/Fix:/);
    expect(await cg.create('vm1', { memoryBytes: 64 * MIB, pids: 8, cpus: 1 })).toBeUndefined();
  });

  it.runIf(canUseCgroups)('caps the memory of the parent group that holds every VM group', async () => {
    const name = `codecell-issue9-${process.pid}-${Date.now()}`;
    const cg = new HostCgroups({ name, parentMemoryBytes: 768 * MIB });
    disposers.push(() => cg.dispose());
    await cg.init();
    expect(cg.problem).toBeNull();
    const parentLimit = mode === 'v2' ? join('/sys/fs/cgroup', name, 'memory.max') : join('/sys/fs/cgroup/memory', name, 'memory.limit_in_bytes');
    expect(Number(readFileSync(parentLimit, 'utf8').trim())).toBe(768 * MIB);
    const vm = await cg.create('vm1', { memoryBytes: 64 * MIB, pids: 8, cpus: 1 });
    expect(vm?.procsFiles.length).toBeGreaterThan(0);
    await vm?.remove();
  });
});
