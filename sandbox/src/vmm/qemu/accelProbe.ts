/**
 * Chooses KVM or TCG for QEMU. `/dev/kvm` existing is not enough: on nested
 * hosts (e.g. PVM) KVM runs trivial code but cannot boot a stock kernel. So we
 * boot the real guest under KVM with a deadline and fall back to TCG, caching
 * the verdict per host kernel, QEMU version and guest image.
 * @module
 */
import { accessSync, constants, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { release } from 'node:os';
import { join } from 'node:path';
import { CodeCellError } from '@codecell/protocol';
import type { VmHandle } from '../VmmDriver.js';
import type { Logger } from '@codecell/server-kit';
import { AgentConnection } from '../../agent/AgentConnection.js';
import type { Acceleration } from './qemuArgs.js';

/** A real KVM host boots the guest in well under a second; this is generous. */
export const KVM_PROBE_TIMEOUT_MS = 8_000;

export interface ResolvedAcceleration {
  readonly acceleration: Acceleration;
  readonly reason: string;
}

/** Host TSC frequency in kHz from /proc/cpuinfo, if known. */
export function hostTscKhz(): number | undefined {
  try {
    const m = /cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m?.[1] ? Math.round(Number(m[1]) * 1000) : undefined;
  } catch {
    return undefined;
  }
}

function kvmAccessible(): string | undefined {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return undefined;
  } catch (err) {
    return `/dev/kvm is not usable (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
}

export async function resolveAcceleration(o: {
  requested: Acceleration | 'auto';
  qemuBin: string;
  cacheDir: string | undefined;
  imageId: string;
  logger: Logger;
  bootProbe: (accel: Acceleration) => Promise<VmHandle>;
}): Promise<ResolvedAcceleration> {
  if (o.requested === 'tcg') return { acceleration: 'tcg', reason: 'SANDBOX_ACCEL=tcg' };
  const noKvm = kvmAccessible();
  if (o.requested === 'kvm') {
    if (noKvm) throw new CodeCellError('vm_boot_failed', `SANDBOX_ACCEL=kvm but ${noKvm}`);
    return { acceleration: 'kvm', reason: 'SANDBOX_ACCEL=kvm' };
  }
  if (noKvm) return { acceleration: 'tcg', reason: `${noKvm}; using TCG emulation` };
  const version = spawnSync(o.qemuBin, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  const key = createHash('sha256').update(`${release()}\0${version}\0${o.imageId}`).digest('hex').slice(0, 16);
  const cacheFile = o.cacheDir ? join(o.cacheDir, `accel-probe-${key}.json`) : undefined;
  if (cacheFile) {
    try {
      const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as ResolvedAcceleration;
      if (cached.acceleration === 'kvm' || cached.acceleration === 'tcg') return { ...cached, reason: `${cached.reason} (cached probe)` };
    } catch {
      // no cached verdict
    }
  }
  const result = await probe(o.bootProbe, o.logger);
  if (cacheFile) {
    try {
      mkdirSync(o.cacheDir as string, { recursive: true });
      writeFileSync(cacheFile, JSON.stringify(result));
    } catch {
      // caching is an optimisation only
    }
  }
  return result;
}

async function probe(boot: (a: Acceleration) => Promise<VmHandle>, logger: Logger): Promise<ResolvedAcceleration> {
  logger.info('probing KVM with a real guest boot', { timeoutMs: KVM_PROBE_TIMEOUT_MS });
  const started = Date.now();
  let vm: VmHandle | undefined;
  try {
    vm = await boot('kvm');
    const agent = new AgentConnection(vm.channel);
    const died = vm.exited.then((e) => {
      throw new Error(`QEMU exited during the probe (code ${e.code}, signal ${e.signal})`);
    });
    await Promise.race([agent.waitReady({ timeoutMs: KVM_PROBE_TIMEOUT_MS }), died]);
    agent.dispose();
    return { acceleration: 'kvm', reason: `KVM booted the guest in ${Date.now() - started} ms` };
  } catch (err) {
    await vm?.destroy(); // stop a guest that crawls, so QEMU's last words are in
    const qemuSaid = /QEMU: (.+)/.exec(vm?.diagnostics?.() ?? '')?.[1];
    const why = (qemuSaid ?? (err instanceof Error ? err.message : String(err))).split('\n')[0]?.slice(0, 300) ?? 'unknown';
    return { acceleration: 'tcg', reason: `KVM probe failed (${why}); using TCG emulation, a full VM but slower` };
  } finally {
    await vm?.destroy();
  }
}
