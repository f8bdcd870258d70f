/**
 * Builds QEMU `-M microvm` command lines. Pure, so the exact flags are unit-tested.
 * @module
 */
import type { VmShape } from '../VmmDriver.js';

export type Acceleration = 'kvm' | 'tcg';

/** Translation-block cache of the TCG emulator, in MiB: smaller packs more VMs per host. */
export const TCG_TB_SIZE_MB = 32;

export interface QemuArgsOptions {
  readonly shape: VmShape;
  readonly acceleration: Acceleration;
  readonly kernel: string;
  readonly initramfs: string;
  /**
   * The read-only root image, attached as the first virtio-blk disk. Every VM
   * opens the same file read-only, so its pages are shared through the host's page cache.
   */
  readonly rootfs: string;
  /** Directory holding the VM's sockets and console log. */
  readonly vmDir: string;
  /** Host TSC frequency, so the guest skips PIT calibration (which can hang under TCG). */
  readonly tscKhz: number | undefined;
  /**
   * Guest RAM in a file: `share: true` for a snapshot template (the file then
   * holds its memory), `share: false` for a copy-on-write clone of that file.
   */
  readonly memoryFile?: { readonly path: string; readonly share: boolean };
  /** Start paused, waiting for `migrate-incoming` (snapshot restore). */
  readonly incoming?: boolean;
  /** Apply QEMU's seccomp filter (`-sandbox on`). Default true. */
  readonly seccomp?: boolean;
  /** Appended to the kernel command line (tests use it to make a guest misbehave). */
  readonly extraKernelArgs?: string;
}

/** Kernel command line for the guest. Unknown `key=value` pairs reach PID 1 as environment. */
export function guestCmdline(tscKhz: number | undefined): string {
  return [
    'console=ttyS0',
    'quiet',
    'loglevel=3',
    '8250.nr_uarts=1',
    'no_timer_check',
    'tsc=reliable',
    ...(tscKhz ? [`tsc_early_khz=${tscKhz}`] : []),
    'i8042.noaux',
    'i8042.nokbd',
    'i8042.nopnp',
    'random.trust_cpu=on',
    'mitigations=off',
    'nokaslr',
    'audit=0',
    'panic=-1',
    'ccchannel=serial',
  ].join(' ');
}

/** The full argv (without the binary) for one VM. */
export function qemuArgs(o: QemuArgsOptions): string[] {
  const machine = ['microvm', 'x-option-roms=off', 'rtc=on'];
  const args: string[] = [];
  if (o.memoryFile) {
    machine.push('memory-backend=mem0');
    args.push(
      '-object',
      `memory-backend-file,id=mem0,size=${o.shape.memMb}M,mem-path=${o.memoryFile.path},share=${o.memoryFile.share ? 'on' : 'off'}`,
    );
  }
  args.push(
    '-M',
    machine.join(','),
    ...(o.acceleration === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', `tcg,tb-size=${TCG_TB_SIZE_MB}`, '-cpu', 'max']),
    '-m',
    `${o.shape.memMb}M`,
    '-smp',
    String(o.shape.vcpus),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-no-reboot',
    '-kernel',
    o.kernel,
    '-initrd',
    o.initramfs,
    '-append',
    o.extraKernelArgs ? `${guestCmdline(o.tscKhz)} ${o.extraKernelArgs}` : guestCmdline(o.tscKhz),
    '-serial',
    `file:${o.vmDir}/console.log`,
    // cache=none would bypass the host page cache, which is what shares the image between VMs.
    '-drive',
    `id=root,file=${o.rootfs},format=raw,if=none,readonly=on,cache=writeback`,
    '-device',
    'virtio-blk-device,drive=root',
    '-device',
    'virtio-rng-device',
    '-device',
    'virtio-serial-device',
    '-chardev',
    `socket,id=agent,path=${o.vmDir}/agent.sock,server=on,wait=off`,
    '-device',
    'virtserialport,chardev=agent,name=agent',
    '-qmp',
    `unix:${o.vmDir}/qmp.sock,server=on,wait=off`,
  );
  // No -netdev / -nic: the guest has no network device at all.
  if (o.seccomp ?? true) args.push('-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny');
  if (o.incoming) args.push('-incoming', 'defer');
  return args;
}
