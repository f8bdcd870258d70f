/**
 * The prerequisite checks of {@link FirecrackerDriver.init}: KVM, the binary, the guest
 * images and the jailer, each failing with a message that says what to set.
 * @module
 */
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { promisify } from 'node:util';
import { CodeCellError } from '@codecell/protocol';
import type { FirecrackerDriverOptions } from './FirecrackerDriver.js';
import { versionAtLeast } from './FirecrackerApi.js';

const VERSION_PROBE_TIMEOUT_MS = 5_000;
const execFileAsync = promisify(execFile);

/**
 * Checks that {@link FirecrackerDriver} can run: read/write access to `/dev/kvm`
 * (Firecracker is KVM-only), `firecracker --version` works, kernel, initrd and root image are
 * readable, and the jailer (if any) is executable.
 * @returns the Firecracker version, e.g. `1.16.1`.
 * @throws CodeCellError `vm_boot_failed` naming what to fix.
 */
export async function probeFirecracker(
  opts: FirecrackerDriverOptions & { readonly signal?: AbortSignal },
): Promise<string> {
  const { kvmDevicePath = '/dev/kvm', firecrackerBin, kernelPath, initrdPath, rootfsPath, jailer, logger, signal } = opts;
  await mustAccess(
    kvmDevicePath,
    constants.R_OK | constants.W_OK,
    (code) =>
      `Firecracker needs read/write access to ${kvmDevicePath} (${code}). Run on a Linux host with KVM ` +
      `(enable nested virtualization inside a VM) and add this user to the 'kvm' group, or use the QEMU ` +
      `driver: Firecracker has no software-emulation fallback.`,
  );
  let output: string;
  try {
    ({ stdout: output } = await execFileAsync(firecrackerBin, ['--version'], {
      timeout: VERSION_PROBE_TIMEOUT_MS,
      ...(signal ? { signal } : {}),
    }));
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw new CodeCellError(
      'vm_boot_failed',
      `Cannot run the Firecracker binary '${firecrackerBin}' (${errorText(err)}). Set FIRECRACKER_BIN to the path ` +
        `of a Firecracker v1.16 binary (download a release from github.com/firecracker-microvm/firecracker).`,
      { cause: err },
    );
  }
  const version = /v?(\d+\.\d+\.\d+)/.exec(output)?.[1];
  if (!version) {
    throw new CodeCellError(
      'vm_boot_failed',
      `'${firecrackerBin} --version' printed no version (${JSON.stringify(output.trim())}); set FIRECRACKER_BIN to a Firecracker binary.`,
    );
  }
  if (!versionAtLeast(version, [1, 13])) {
    logger?.warn('Firecracker < 1.13: snapshots are not GA there; use v1.16', { version });
  }
  await mustAccess(
    kernelPath,
    constants.R_OK,
    (code) =>
      `Guest kernel ${kernelPath} is not readable (${code}): build the guest image or set the kernel path (an uncompressed ELF vmlinux).`,
  );
  await mustAccess(
    initrdPath,
    constants.R_OK,
    (code) =>
      `Guest initramfs ${initrdPath} is not readable (${code}): build the guest image or set the initrd path.`,
  );
  await mustAccess(
    rootfsPath,
    constants.R_OK,
    (code) => `Guest root image ${rootfsPath} is not readable (${code}): build the guest image (npm run setup).`,
  );
  if (jailer) {
    await mustAccess(
      jailer.jailerBin,
      constants.X_OK,
      (code) =>
        `Jailer binary ${jailer.jailerBin} is not executable (${code}): fix the jailer path or run without the jailer.`,
    );
  }
  logger?.info('firecracker driver ready', { version, jailer: jailer !== undefined });
  return version;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function mustAccess(path: string, mode: number, message: (code: string) => string): Promise<void> {
  try {
    await access(path, mode);
  } catch (err) {
    throw new CodeCellError('vm_boot_failed', message((err as NodeJS.ErrnoException).code ?? 'error'), {
      cause: err,
    });
  }
}
