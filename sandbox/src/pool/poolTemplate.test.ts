/**
 * Templates kept between processes (poolTemplate.ts), with the fake VMM: a
 * second pool restores from the first one's template without booting; a kept
 * template whose clones keep failing is forgotten, so no later process
 * restores from it either; a driver that cannot find one gets a fresh one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@codecell/server-kit';
import type { BootOptions, VmHandle, VmShape, VmTemplate } from '../vmm/VmmDriver.js';
import { FakeVmm } from '../../test/fakeVmm/FakeVmm.js';
import { VmPool } from './VmPool.js';
import { TEMPLATE_PURPOSE } from './poolTemplate.js';

/** The fake VMM with a shared shelf of kept templates (what a TemplateStore directory is to QEMU). */
class KeepingVmm extends FakeVmm {
  readonly boots: BootOptions[] = [];
  readonly forgotten: string[] = [];
  constructor(private readonly shelf: Map<string, VmShape>) {
    super();
  }
  override async boot(o: BootOptions): Promise<VmHandle> {
    this.boots.push(o);
    return super.boot(o);
  }
  async findTemplate(shape: VmShape, purpose: string): Promise<VmTemplate | undefined> {
    const key = `${shape.memMb}/${shape.vcpus}/${purpose}`;
    return this.shelf.has(key) ? { id: `kept-${key}`, shape, dispose: async () => undefined } : undefined;
  }
  async keepTemplate(t: VmTemplate, purpose: string): Promise<void> {
    this.shelf.set(`${t.shape.memMb}/${t.shape.vcpus}/${purpose}`, t.shape);
  }
  async forgetTemplate(t: VmTemplate, purpose: string): Promise<void> {
    this.forgotten.push(t.id);
    this.shelf.delete(`${t.shape.memMb}/${t.shape.vcpus}/${purpose}`);
  }
}

const SHAPE: VmShape = { memMb: 448, vcpus: 1 };
const pools: VmPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.dispose()));
});

function pool(driver: FakeVmm): VmPool {
  const p = new VmPool({ driver, shape: SHAPE, target: 1, mode: 'snapshot', bootTimeoutMs: 2000, restoreTimeoutMs: 2000, maxStarting: 1, warmUp: false, logger: silentLogger });
  pools.push(p);
  p.start();
  return p;
}

describe('snapshot templates kept between processes', () => {
  it('a later pool restores from the template an earlier one kept, without booting', async () => {
    const shelf = new Map<string, VmShape>();
    const first = new KeepingVmm(shelf);
    const a = pool(first);
    const vmA = await a.acquire(SHAPE);
    expect(first.boots.filter((b) => b.asTemplate)).toHaveLength(1);
    await a.dispose(); // waits for the template to be kept
    await a.release(vmA);
    expect([...shelf.keys()]).toEqual([`448/1/${TEMPLATE_PURPOSE}`]);

    const second = new KeepingVmm(shelf);
    const b = pool(second);
    const vmB = await b.acquire(SHAPE);
    expect(vmB.vm.restored).toBe(true);
    expect(second.boots).toEqual([]);
    await b.release(vmB);
  });

  it('forgets a kept template whose clones keep failing, then makes and keeps a new one', async () => {
    const shelf = new Map<string, VmShape>([[`448/1/${TEMPLATE_PURPOSE}`, { memMb: 448, vcpus: 1 }]]);
    const driver = new KeepingVmm(shelf);
    driver.failBoots = 3; // the fake's restores fail as its boots do
    const p = pool(driver);
    await expect(p.acquire(SHAPE)).rejects.toMatchObject({ code: 'vm_boot_failed' });
    const vm = await p.acquire(SHAPE);
    expect(driver.forgotten).toEqual([`kept-448/1/${TEMPLATE_PURPOSE}`]);
    expect(driver.boots.filter((b) => b.asTemplate)).toHaveLength(1);
    await p.release(vm);
    expect(shelf.size).toBe(1);
  });
});
