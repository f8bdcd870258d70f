/**
 * The pool's snapshot template: a VM booted, with what its clones share loaded
 * (the agent's `prime`: numpy and pandas), turned into a template. When the
 * driver keeps templates between processes (templateStore.ts), one an earlier
 * process made with the same image, VMM and shape is reused instead, and a new
 * one is kept in the background for the next process.
 * @module
 */
import { AgentConnection } from '../agent/AgentConnection.js';
import type { VmmDriver, VmShape, VmTemplate } from '../vmm/VmmDriver.js';
import type { Logger } from '@codecell/server-kit';

/** How long a template VM may take to load what its clones share (numpy and pandas: ~10 s under TCG). */
export const PRIME_TIMEOUT_MS = 120_000;
/** What was done to a template before its snapshot: boot, `ready`, `prime` (part of its kept key). */
export const TEMPLATE_PURPOSE = 'pool-prime-v1';

export interface PoolTemplate {
  readonly template: VmTemplate;
  /** True when it came from an earlier process. */
  readonly reused: boolean;
  /** Settles when the new template has been kept (or keeping failed, logged); await before disposing. */
  readonly kept: Promise<void>;
}

export async function makePoolTemplate(o: { driver: VmmDriver; shape: VmShape; bootTimeoutMs: number; logger: Logger; signal?: AbortSignal }): Promise<PoolTemplate> {
  const started = performance.now();
  const found = await o.driver.findTemplate?.(o.shape, TEMPLATE_PURPOSE, o.signal).catch((err: unknown) => {
    o.logger.warn('kept snapshot template unusable; making a new one', { error: String(err) });
    return undefined;
  });
  if (found) {
    o.logger.info('snapshot template ready (kept by an earlier start)', { ms: Math.round(performance.now() - started) });
    return { template: found, reused: true, kept: Promise.resolve() };
  }
  const vm = await o.driver.boot({ shape: o.shape, asTemplate: true, signal: o.signal });
  const agent = new AgentConnection(vm.channel);
  try {
    await agent.waitReady({ timeoutMs: o.bootTimeoutMs, signal: o.signal });
    await agent.prime({ timeoutMs: PRIME_TIMEOUT_MS, signal: o.signal });
  } catch (err) {
    await vm.destroy();
    throw err;
  } finally {
    agent.dispose();
  }
  const template = await o.driver.createTemplate(vm, o.signal);
  o.logger.info('snapshot template ready', { ms: Math.round(performance.now() - started) });
  const kept = o.driver.keepTemplate
    ? o.driver.keepTemplate(template, TEMPLATE_PURPOSE).catch((err: unknown) => o.logger.warn('could not keep the snapshot template for the next start', { error: String(err) }))
    : Promise.resolve();
  return { template, reused: false, kept };
}
