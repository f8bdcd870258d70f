/**
 * Driver-level timings shared by the sandbox and root-image benchmarks: cold
 * boots to the agent's `ready`, and a template booted, primed and saved the way
 * the pool makes one.
 * @module
 */
import { AgentConnection } from '../sandbox/src/agent/AgentConnection.js';
import { PRIME_TIMEOUT_MS } from '../sandbox/src/pool/poolTemplate.js';
import type { VmHandle, VmTemplate, VmShape, VmmDriver } from '../sandbox/src/vmm/VmmDriver.js';

/** Boots `n` VMs one after another; resolves with each one's ms from boot to the agent's `ready`. */
export async function coldBoots(o: { driver: VmmDriver; shape: VmShape; n: number; readyTimeoutMs: number; log?: (m: string) => void }): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < o.n; i++) {
    const t0 = performance.now();
    const vm = await o.driver.boot({ shape: o.shape });
    const agent = new AgentConnection(vm.channel);
    await agent.waitReady({ timeoutMs: o.readyTimeoutMs });
    times.push(performance.now() - t0);
    agent.dispose();
    await vm.destroy();
    o.log?.(`cold boot ${i + 1}/${o.n}: ${(times.at(-1) as number).toFixed(0)} ms`);
  }
  return times;
}

/**
 * Boots a template VM, waits for its agent, primes it as the pool does (numpy and
 * pandas loaded, its forked interpreters prepared: poolTemplate.ts) and saves it;
 * resolves with the template and the ms the save took. Unprimed, a clone would
 * finish its forked interpreters' preparation after every restore (~400 ms of
 * the guest's only vCPU under TCG) and the restore figures would not be the pool's.
 */
export async function makeTemplate(o: { driver: VmmDriver; shape: VmShape; readyTimeoutMs: number }): Promise<{ template: VmTemplate; saveMs: number }> {
  const vm = await o.driver.boot({ shape: o.shape, asTemplate: true });
  const agent = new AgentConnection(vm.channel);
  try {
    await agent.waitReady({ timeoutMs: o.readyTimeoutMs });
    await agent.prime({ timeoutMs: PRIME_TIMEOUT_MS });
  } finally {
    agent.dispose();
  }
  const t0 = performance.now();
  const template = await o.driver.createTemplate(vm);
  return { template, saveMs: performance.now() - t0 };
}

/** Restores a clone of `template` and waits for its agent's `ready` after `reseed`; resolves with the clone and the ms that took. */
export async function restoreReseeded(driver: VmmDriver, template: VmTemplate): Promise<{ vm: VmHandle; agent: AgentConnection; ms: number }> {
  const t0 = performance.now();
  const vm = await driver.restore({ template });
  const agent = new AgentConnection(vm.channel);
  await agent.reseed({ timeoutMs: 30_000 });
  return { vm, agent, ms: performance.now() - t0 };
}
