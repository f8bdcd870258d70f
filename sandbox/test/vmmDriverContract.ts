/**
 * The VMM driver contract: what every {@link VmmDriver} (the fake VMM, the
 * fake Firecracker, QEMU, and a real Firecracker where FIRECRACKER_BIN is set)
 * must do for the pool, at the level of the interface itself: boot, channel,
 * template, restore, destroy, dispose. The guest-level behaviour of runs is
 * driverContract.ts. Test names cite guest/SPEC.md rules.
 * @module
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_PROTOCOL_VERSION } from '@codecell/protocol';
import { AgentConnection } from '../src/agent/AgentConnection.js';
import type { VmHandle, VmmDriver, VmShape } from '../src/vmm/VmmDriver.js';

export interface DriverUnderTest {
  readonly driver: VmmDriver;
  /** What the driver left on the host (files, processes); empty when it cleaned up. */
  leftovers(): Promise<string[]>;
  /** Removes whatever the test set up around the driver. */
  cleanup(): Promise<void>;
}

export interface VmmContractOptions {
  readonly shape: VmShape;
  /** Deadline for the agent to answer after a boot (seconds under TCG, milliseconds for fakes). */
  readonly readyTimeoutMs: number;
}

async function ready(vm: VmHandle, timeoutMs: number, reseed = false): Promise<number> {
  const agent = new AgentConnection(vm.channel);
  try {
    const r = reseed ? await agent.reseed({ timeoutMs }) : await agent.waitReady({ timeoutMs });
    return r.version;
  } finally {
    agent.dispose();
  }
}

export function vmmDriverContract(name: string, create: () => Promise<DriverUnderTest>, o: VmmContractOptions): void {
  describe(`VMM driver contract: ${name}`, () => {
    let t: DriverUnderTest;
    beforeAll(async () => {
      t = await create();
      await t.driver.init();
    });
    afterAll(async () => {
      await t?.driver.dispose();
      await t?.cleanup();
    });

    it('boots a VM of the asked shape whose channel carries the agent protocol (SPEC 1.1, 2.1)', async () => {
      const vm = await t.driver.boot({ shape: o.shape });
      try {
        expect(vm.shape).toEqual(o.shape);
        expect(vm.restored).toBe(false);
        expect(await ready(vm, o.readyTimeoutMs)).toBe(AGENT_PROTOCOL_VERSION);
      } finally {
        await vm.destroy();
      }
    });

    it('destroys a VM: exited resolves, a second destroy is harmless, nothing is left (SPEC 4.2)', async () => {
      const vm = await t.driver.boot({ shape: o.shape });
      await ready(vm, o.readyTimeoutMs);
      await Promise.all([vm.destroy(), vm.destroy()]);
      await vm.destroy();
      await expect(vm.exited).resolves.toBeDefined();
      expect(await t.leftovers()).toEqual([]);
    });

    it('makes a template of a booted VM, consuming it, and restores clones of its shape that answer after reseed (SPEC 2.2)', async () => {
      const source = await t.driver.boot({ shape: o.shape, asTemplate: true });
      await ready(source, o.readyTimeoutMs);
      const template = await t.driver.createTemplate(source);
      expect(template.shape).toEqual(o.shape);
      await expect(source.exited).resolves.toBeDefined(); // never resumed: clones share its identity
      const [a, b] = await Promise.all([t.driver.restore({ template }), t.driver.restore({ template })]);
      if (!a || !b) throw new Error('restore gave no VM');
      try {
        expect([a.restored, b.restored]).toEqual([true, true]);
        expect(a.shape).toEqual(o.shape);
        expect(await ready(a, o.readyTimeoutMs, true)).toBe(AGENT_PROTOCOL_VERSION);
        // Clones are independent: one going leaves the other answering.
        await a.destroy();
        expect(await ready(b, o.readyTimeoutMs, true)).toBe(AGENT_PROTOCOL_VERSION);
      } finally {
        await Promise.all([a.destroy(), b.destroy()]);
        await template.dispose();
        await template.dispose();
      }
      expect(await t.leftovers()).toEqual([]);
    });

    it('disposes every VM it still owns and refuses to boot afterwards', async () => {
      const vm = await t.driver.boot({ shape: o.shape });
      await t.driver.dispose();
      await expect(vm.exited).resolves.toBeDefined();
      await expect(t.driver.boot({ shape: o.shape })).rejects.toThrow();
      expect(await t.leftovers()).toEqual([]);
    });
  });
}
