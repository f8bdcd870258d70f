/**
 * The Firecracker backend of {@link VmmDriver}: cold boot from an ELF vmlinux plus
 * initramfs, the read-only root image as the one block device (no network), a
 * vsock channel to the guest agent, and Full snapshots whose memory file is
 * shared copy-on-write by every clone.
 * Facts it relies on: /work/shared/reference/vmm.md sections 1-6, 8, 10.
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CodeCellError } from '@codecell/protocol';
import type { BootOptions, RestoreOptions, VmHandle, VmShape, VmTemplate, VmmDriver } from '../VmmDriver.js';
import { FirecrackerApiError } from './FirecrackerApi.js';
import { probeFirecracker } from './probeFirecracker.js';
import { FirecrackerProcess, VSOCK_UDS_NAME, moveFile, type JailerOptions } from './FirecrackerProcess.js';
import {
  FirecrackerTemplate,
  FirecrackerVm,
  SNAPSHOT_MEM_NAME,
  SNAPSHOT_STATE_NAME,
} from './FirecrackerVm.js';
import { AGENT_VSOCK_PORT, vsockConnect } from './vsockConnect.js';
import { ensurePrivateDir } from '../runDir.js';

/** `ccchannel=vsock` reaches the guest agent (PID 1) as an environment variable. */
export const DEFAULT_BOOT_ARGS = 'console=ttyS0 reboot=k panic=1 quiet loglevel=1 ccchannel=vsock';
export const DEFAULT_BOOT_TIMEOUT_MS = 20_000;
/** CIDs 0-2 are reserved; every VM has its own muxer, so all guests can use 3. */
export const GUEST_CID = 3;
/** Drive id of the root image ([A-Za-z0-9_] only). */
export const ROOTFS_DRIVE_ID = 'rootfs';
/** After a failed step, how long to wait for the process exit that may explain it. */
const EXIT_GRACE_MS = 200;

/** Where the driver reports what it does. */
export interface FirecrackerDriverLogger {
  info(msg: string, data?: object): void;
  warn(msg: string, data?: object): void;
}

/** Options of {@link FirecrackerDriver}. */
export interface FirecrackerDriverOptions {
  /** The `firecracker` binary (v1.16 recommended; `FIRECRACKER_BIN`). */
  readonly firecrackerBin: string;
  /** Uncompressed ELF `vmlinux` (Firecracker 1.16 on x86_64 does not boot bzImage). */
  readonly kernelPath: string;
  readonly initrdPath: string;
  /**
   * The read-only root image, attached as drive `rootfs` (`is_read_only`; the
   * initramfs mounts it, so it is not Firecracker's root device).
   */
  readonly rootfsPath: string;
  /** Per-VM and per-template directories are created under it. */
  readonly workDir: string;
  /** @default DEFAULT_BOOT_ARGS */
  readonly bootArgs?: string;
  /** Run each Firecracker inside the jailer (requires root). */
  readonly jailer?: JailerOptions;
  readonly logger?: FirecrackerDriverLogger;
  /** Spawn to connected channel, for boot and restore. @default DEFAULT_BOOT_TIMEOUT_MS */
  readonly bootTimeoutMs?: number;
  /** KVM device checked by init() (tests point it elsewhere). @default '/dev/kvm' */
  readonly kvmDevicePath?: string;
}

/**
 * Runs guests in Firecracker microVMs.
 *
 * @example
 * const driver = new FirecrackerDriver({ firecrackerBin, kernelPath, initrdPath, workDir });
 * await driver.init();
 * const vm = await driver.boot({ shape: { memMb: 256, vcpus: 1 } });
 * const template = await driver.createTemplate(vm); // consumes vm
 * const clone = await driver.restore({ template });
 */
export class FirecrackerDriver implements VmmDriver {
  readonly name = 'firecracker' as const;
  /** Firecracker runs only on KVM. */
  readonly acceleration = 'kvm' as const;
  readonly supportsSnapshots = true;
  readonly #opts: FirecrackerDriverOptions;
  readonly #bootTimeoutMs: number;
  readonly #vms = new Set<FirecrackerVm>();
  readonly #starting = new Set<FirecrackerProcess>();
  readonly #templates = new Set<FirecrackerTemplate>();
  #init: Promise<void> | undefined;
  #version: string | undefined;
  #disposed = false;

  constructor(opts: FirecrackerDriverOptions) {
    this.#opts = opts;
    this.#bootTimeoutMs = opts.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS;
  }

  /** Firecracker's version, known after {@link FirecrackerDriver.init}. */
  get firecrackerVersion(): string | undefined {
    return this.#version;
  }

  /** Checks /dev/kvm, the binary (`--version`), kernel, initrd and jailer. Idempotent. */
  init(signal?: AbortSignal): Promise<void> {
    this.#init ??= probeFirecracker({ ...this.#opts, ...(signal ? { signal } : {}) }).then(
      (version) => void (this.#version = version),
      (err: unknown) => {
        this.#init = undefined;
        throw err;
      },
    );
    return this.#init;
  }

  async boot(opts: BootOptions): Promise<VmHandle> {
    const { memMb, vcpus } = opts.shape;
    return this.#start({
      shape: opts.shape,
      restored: false,
      signal: opts.signal,
      configure: async (proc, signal) => {
        const { api } = proc;
        await api.putMachineConfig({ vcpu_count: vcpus, mem_size_mib: memMb, smt: false }, { signal });
        await api.putBootSource(
          {
            kernel_image_path: await proc.placeFile(this.#opts.kernelPath, 'vmlinux', { inRoot: false }),
            initrd_path: await proc.placeFile(this.#opts.initrdPath, 'initrd', { inRoot: false }),
            boot_args: this.#opts.bootArgs ?? DEFAULT_BOOT_ARGS,
          },
          { signal },
        );
        await api.putDrive(
          {
            drive_id: ROOTFS_DRIVE_ID,
            path_on_host: await this.#placeRootfs(proc),
            is_root_device: false,
            is_read_only: true,
          },
          { signal },
        );
        // Relative: the path is baked into snapshots, and each clone's cwd is its own dir.
        await api.putVsock({ guest_cid: GUEST_CID, uds_path: VSOCK_UDS_NAME }, { signal });
        await api.putEntropy({}, { signal });
        await api.instanceStart({ signal });
      },
    });
  }

  async createTemplate(vm: VmHandle, signal?: AbortSignal): Promise<VmTemplate> {
    if (!(vm instanceof FirecrackerVm) || !this.#vms.has(vm)) {
      await vm.destroy();
      throw new CodeCellError(
        'internal_error',
        `createTemplate: VM ${vm.id} was not booted by this FirecrackerDriver`,
      );
    }
    const proc = vm.process;
    const call = signal ? { signal } : {};
    let dir: string | undefined;
    try {
      dir = await mkdtemp(join(this.#opts.workDir, 'tpl-'));
      const version = await proc.api.getVersion(call);
      await proc.api.pauseVm(call);
      await proc.api.createSnapshot(
        { snapshot_type: 'Full', snapshot_path: SNAPSHOT_STATE_NAME, mem_file_path: SNAPSHOT_MEM_NAME },
        call,
      );
      for (const name of [SNAPSHOT_STATE_NAME, SNAPSHOT_MEM_NAME]) {
        await moveFile(join(proc.rootDir, name), join(dir, name));
      }
      const template = new FirecrackerTemplate({
        id: basename(dir),
        shape: vm.shape,
        dir,
        firecrackerVersion: version,
        onDisposed: (t) => this.#templates.delete(t),
      });
      this.#templates.add(template);
      if (this.#disposed) {
        await template.dispose();
        throw new CodeCellError('internal_error', 'FirecrackerDriver was disposed during createTemplate');
      }
      this.#opts.logger?.info('firecracker template created', { template: template.id, from: vm.id });
      return template;
    } catch (err) {
      const tail = await proc.logTail();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
      if (signal?.aborted) throw signal.reason;
      if (err instanceof CodeCellError && !(err instanceof FirecrackerApiError)) throw err;
      throw new CodeCellError(
        'vm_boot_failed',
        `Firecracker snapshot of ${vm.id} failed: ${errorText(err)}${logSection(tail)}`,
        {
          cause: err,
        },
      );
    } finally {
      // A snapshotted VM must never run again (its clones share its identity).
      await vm.destroy();
    }
  }

  async restore(opts: RestoreOptions): Promise<VmHandle> {
    const { template } = opts;
    if (!(template instanceof FirecrackerTemplate) || !this.#templates.has(template)) {
      throw new CodeCellError(
        'internal_error',
        `restore: template ${template.id} is not a live template of this FirecrackerDriver`,
      );
    }
    return this.#start({
      shape: template.shape,
      restored: true,
      signal: opts.signal,
      configure: async (proc, signal) => {
        // Only logger/metrics may precede /snapshot/load, so nothing else is configured;
        // the snapshot names the root image by the path the template had, so it must be there.
        await this.#placeRootfs(proc);
        await proc.api.loadSnapshot({
          // Per-VM link: the state file is small, and Firecracker resolves it in its own root.
          snapshotPath: await proc.placeFile(template.statePath, SNAPSHOT_STATE_NAME, { inRoot: true }),
          // Shared by path, never copied (a jailed VM gets a hard link to the same inode).
          memFilePath: await proc.placeFile(template.memPath, SNAPSHOT_MEM_NAME, { inRoot: false }),
          resumeVm: true,
          // Firecracker < 1.16 rejects vsock_override; the baked-in relative path then
          // resolves in this VM's own directory anyway.
          vsockUdsPath: VSOCK_UDS_NAME,
          signal,
        });
      },
    });
  }

  /** The root image where this VM's Firecracker opens it (hard-linked into a jail, shared by path otherwise). */
  #placeRootfs(proc: FirecrackerProcess): Promise<string> {
    return proc.placeFile(this.#opts.rootfsPath, ROOTFS_DRIVE_ID, { inRoot: false });
  }

  /** Destroys every VM (booting or running) and template the driver still owns. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    await Promise.all([
      ...[...this.#vms].map((vm) => vm.destroy()),
      ...[...this.#starting].map((proc) => proc.destroy()),
      ...[...this.#templates].map((template) => template.dispose()),
    ]);
  }

  /** Spawns Firecracker, configures it, connects the vsock channel; cleans up on any failure. */
  async #start(opts: {
    readonly shape: VmShape;
    readonly restored: boolean;
    readonly signal: AbortSignal | undefined;
    readonly configure: (proc: FirecrackerProcess, signal: AbortSignal) => Promise<void>;
  }): Promise<FirecrackerVm> {
    if (this.#disposed) throw new CodeCellError('internal_error', 'FirecrackerDriver is disposed');
    opts.signal?.throwIfAborted();
    const startedAt = performance.now();
    const what = opts.restored ? 'restore' : 'boot';
    const id = `cc-${randomBytes(6).toString('hex')}`;
    let vmDir: string | undefined;
    let proc: FirecrackerProcess;
    try {
      ensurePrivateDir(this.#opts.workDir);
      vmDir = await mkdtemp(join(this.#opts.workDir, `${id}-`));
      proc = await FirecrackerProcess.spawn({
        id,
        firecrackerBin: this.#opts.firecrackerBin,
        vmDir,
        ...(this.#opts.jailer ? { jailer: this.#opts.jailer } : {}),
      });
    } catch (err) {
      if (vmDir !== undefined) await rm(vmDir, { recursive: true, force: true });
      if (err instanceof CodeCellError) throw err;
      throw new CodeCellError('vm_boot_failed', `Firecracker ${what} failed: ${errorText(err)}`, {
        cause: err,
      });
    }
    this.#starting.add(proc);
    const timeout = AbortSignal.timeout(this.#bootTimeoutMs);
    const signal = AbortSignal.any([proc.exitSignal, timeout, ...(opts.signal ? [opts.signal] : [])]);
    try {
      await proc.api.waitForSocket({ timeoutMs: this.#bootTimeoutMs, signal });
      await opts.configure(proc, signal);
      const channel = await vsockConnect({
        udsPath: proc.vsockPath,
        port: AGENT_VSOCK_PORT,
        timeoutMs: Math.max(1, this.#bootTimeoutMs - (performance.now() - startedAt)),
        signal,
      });
      const vm = new FirecrackerVm({
        process: proc,
        shape: opts.shape,
        channel,
        restored: opts.restored,
        onDestroyed: (v) => this.#vms.delete(v),
      });
      this.#vms.add(vm);
      if (this.#disposed) {
        await vm.destroy();
        throw new CodeCellError('internal_error', 'FirecrackerDriver was disposed during boot');
      }
      const ms = Math.round(performance.now() - startedAt);
      this.#opts.logger?.info(`firecracker ${what} ok`, { id: vm.id, pid: vm.pid, ms });
      return vm;
    } catch (err) {
      throw await this.#startFailure({ proc, err, what, timeout, callerSignal: opts.signal });
    } finally {
      this.#starting.delete(proc);
    }
  }

  /** Destroys a VM that failed to start and explains why, with the tail of its log. */
  async #startFailure(ctx: {
    readonly proc: FirecrackerProcess;
    readonly err: unknown;
    readonly what: string;
    readonly timeout: AbortSignal;
    readonly callerSignal: AbortSignal | undefined;
  }): Promise<unknown> {
    const { proc, err } = ctx;
    // A reset connection or an aborted wait is often the VMM dying: give the exit a moment to land.
    const apiFault = err instanceof FirecrackerApiError && err.statusCode !== undefined ? err : undefined;
    if (!proc.exitInfo && !apiFault) {
      await Promise.race([proc.exited, sleep(EXIT_GRACE_MS, undefined, { ref: false })]);
    }
    const exitedEarly = proc.exitInfo !== undefined;
    const tail = await proc.logTail();
    await proc.destroy();
    if (ctx.callerSignal?.aborted) return ctx.callerSignal.reason;
    const ownError = err instanceof CodeCellError && !(err instanceof FirecrackerApiError);
    if (ownError && err.code === 'internal_error') return err;
    let reason: string;
    if (apiFault) reason = apiFault.message;
    else if (exitedEarly) reason = `the VMM ${proc.describeExit()} before the guest agent was reachable`;
    else if (ctx.timeout.aborted)
      reason = `the guest agent was not reachable within ${this.#bootTimeoutMs} ms`;
    else reason = errorText(err);
    this.#opts.logger?.warn(`firecracker ${ctx.what} failed`, { id: proc.id, reason });
    return new CodeCellError(
      'vm_boot_failed',
      `Firecracker ${ctx.what} failed: ${reason}${logSection(tail)}`,
      { cause: err },
    );
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function logSection(tail: string): string {
  return tail === '' ? '' : `\n--- firecracker log (last lines) ---\n${tail}`;
}
