/**
 * The key of a kept QEMU snapshot template (templateStore.ts): a hash of
 * everything a snapshot depends on, so a template is only ever restored by
 * the QEMU, guest image and device arguments that made it.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { cpus } from 'node:os';

/** Bumped when what a kept template holds changes in a way the inputs below do not show. */
const FORMAT = 1;
const versions = new Map<string, string>();

function qemuVersion(bin: string): string {
  let v = versions.get(bin);
  if (v === undefined) {
    v = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout ?? '';
    versions.set(bin, v);
  }
  return v;
}

function identity(file: string): string {
  try {
    const st = statSync(file);
    return `${file}:${st.size}:${st.mtimeMs}:${st.ino}`;
  } catch {
    return `${file}:missing`;
  }
}

export function qemuTemplateKey(o: {
  readonly qemuBin: string;
  readonly accel: string;
  /** What was done to the VM before the snapshot (the pool's warm-up). */
  readonly purpose: string;
  /** Kernel, initramfs, root image. */
  readonly files: readonly string[];
  /** The template VM's QEMU arguments for a VM directory (the key uses a fixed one). */
  readonly args: (vmDir: string) => readonly string[];
}): string {
  const inputs = {
    format: FORMAT,
    qemu: qemuVersion(o.qemuBin),
    accel: o.accel,
    // KVM snapshots carry the host CPU's features; TCG's `-cpu max` is QEMU's own.
    cpu: o.accel === 'kvm' ? (cpus()[0]?.model ?? '') : '',
    purpose: o.purpose,
    files: o.files.map(identity),
    args: o.args('/vm'),
  };
  return `qemu-${createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 32)}`;
}
