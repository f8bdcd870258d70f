/**
 * QEMU `-M microvm` driver: cold boot, copy-on-write snapshot templates
 * (guest RAM in a shared file + `x-ignore-shared` migration), clones, teardown.
 * Acceleration is KVM where a probe boot works, else TCG (still a VM, slower).
 * @module
 */
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, rename } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CodeCellError } from '@codecell/protocol';
import type { BootOptions, RestoreOptions, VmHandle, VmmDriver, VmShape, VmTemplate } from '../VmmDriver.js';
import type { HostCgroups } from '../hostCgroup.js';
import type { Logger } from '@codecell/server-kit';
import { qemuArgs } from './qemuArgs.js';
import type { Acceleration } from './qemuArgs.js';
import { QemuVm } from './QemuVm.js';
import { connectWithRetry } from '../unixSocket.js';
import { resolveAcceleration, hostTscKhz } from './accelProbe.js';
import { ensurePrivateDir } from '../runDir.js';
import type { TemplateStore } from '../templateStore.js';
import { qemuTemplateKey } from './templateKey.js';

/** Deadline for QEMU to create its sockets after spawn. */
export const QEMU_SOCKET_TIMEOUT_MS = 10_000;
/** Deadline for a snapshot save or restore migration. */
export const MIGRATION_TIMEOUT_MS = 30_000;
/** Extra host memory a QEMU process may use beyond guest RAM (TCG code cache, devices). */
export const VMM_MEMORY_OVERHEAD_MB = 256;

export interface QemuDriverOptions {
  readonly kernel: string;
  readonly initramfs: string;
  /** The read-only root image (virtio-blk). */
  readonly rootfs: string;
  /** Directory for per-VM and per-template directories (created). */
  readonly runDir: string;
  readonly qemuBin?: string;
  /** `auto` probes KVM with a real boot and falls back to TCG. */
  readonly acceleration?: Acceleration | 'auto';
  /** Where the probe result is cached between starts (keyed by host and image). */
  readonly probeCacheDir?: string;
  readonly cgroups?: HostCgroups;
  readonly logger: Logger;
  /** Where templates are kept between processes (findTemplate / keepTemplate); none: not kept. */
  readonly templateStore?: TemplateStore;
  /** Apply `-sandbox on` (seccomp). Default true. */
  readonly seccomp?: boolean;
  /** Appended to the guest kernel command line. */
  readonly extraKernelArgs?: string;
}

interface QemuTemplate extends VmTemplate {
  readonly dir: string;
  readonly memPath: string;
  readonly statePath: string;
  /** The device state (tens of KiB: RAM is in the shared file), read once. */
  state?: Buffer;
}

let vmCounter = 0;

export class QemuDriver implements VmmDriver {
  readonly name = 'qemu' as const;
  readonly supportsSnapshots = true;
  private accel: Acceleration | undefined;
  /** Why {@link QemuDriver.acceleration} is what it is (for logs and /healthz). */
  accelerationReason = 'not probed yet';
  private readonly qemuBin: string;
  private readonly tscKhz = hostTscKhz();
  private readonly vms = new Set<QemuVm>();
  private readonly templates = new Set<QemuTemplate>();
  private disposed = false;

  constructor(private readonly opts: QemuDriverOptions) {
    this.qemuBin = opts.qemuBin ?? 'qemu-system-x86_64';
  }

  get acceleration(): Acceleration {
    return this.accel ?? 'tcg';
  }

  async init(signal?: AbortSignal): Promise<void> {
    if (this.accel) return;
    for (const f of [this.opts.kernel, this.opts.initramfs, this.opts.rootfs]) {
      if (!existsSync(f)) throw new CodeCellError('vm_boot_failed', `guest image file ${f} is missing: run \`npm run setup\` to build it`);
    }
    ensurePrivateDir(this.opts.runDir);
    const resolved = await resolveAcceleration({
      requested: this.opts.acceleration ?? 'auto',
      qemuBin: this.qemuBin,
      cacheDir: this.opts.probeCacheDir,
      imageId: this.opts.initramfs,
      logger: this.opts.logger,
      bootProbe: (accel) => this.probeBoot(accel, signal),
    });
    this.accel = resolved.acceleration;
    this.accelerationReason = resolved.reason;
  }

  boot(o: BootOptions): Promise<VmHandle> {
    return this.start({ shape: o.shape, asTemplate: o.asTemplate ?? false, signal: o.signal });
  }

  async createTemplate(vm: VmHandle, signal?: AbortSignal): Promise<VmTemplate> {
    const qvm = this.own(vm);
    const tpl = await this.newTemplate(`tpl-${qvm.id}`, qvm.shape);
    const dir = tpl.dir;
    try {
      const qmp = await qvm.qmp(QEMU_SOCKET_TIMEOUT_MS, signal);
      try {
        await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: true }] });
        await qmp.execute('stop');
        const sockPath = join(dir, 'mig.sock');
        const received = receiveToFile(sockPath, tpl.statePath);
        try {
          await qmp.execute('migrate', { uri: `unix:${sockPath}` });
          await waitMigration(qmp, signal);
          await received.done;
        } finally {
          received.close(); // also when the migration failed before QEMU connected
        }
      } finally {
        qmp.close();
      }
      await qvm.stopKeepingFiles();
      await rename(join(qvm.vmDir, 'mem'), tpl.memPath);
      this.templates.add(tpl);
      return tpl;
    } catch (err) {
      await tpl.dispose();
      throw new CodeCellError('vm_boot_failed', `could not snapshot VM ${qvm.id}: ${String(err)}${qvm.diagnostics()}`, { cause: err });
    } finally {
      this.vms.delete(qvm);
      await qvm.destroy();
    }
  }

  async findTemplate(shape: VmShape, purpose: string): Promise<VmTemplate | undefined> {
    const store = this.opts.templateStore;
    if (!store) return undefined;
    const tpl = await this.newTemplate(`tpl-kept-${process.pid}-${++vmCounter}`, shape);
    try {
      if (!(await store.load(this.templateKey(shape, purpose), tpl.dir))) {
        await tpl.dispose();
        return undefined;
      }
    } catch (err) {
      await tpl.dispose();
      throw err;
    }
    this.templates.add(tpl);
    return tpl;
  }

  async keepTemplate(template: VmTemplate, purpose: string): Promise<void> {
    const tpl = this.ownTemplate(template);
    await this.opts.templateStore?.save(this.templateKey(tpl.shape, purpose), tpl.dir, ['mem', 'state']);
  }

  async forgetTemplate(template: VmTemplate, purpose: string): Promise<void> {
    await this.opts.templateStore?.forget(this.templateKey(template.shape, purpose));
  }

  /** Names everything a template of `shape` depends on: image files, QEMU and its arguments, acceleration. */
  private templateKey(shape: VmShape, purpose: string): string {
    const o = this.opts;
    return qemuTemplateKey({ qemuBin: this.qemuBin, accel: this.acceleration, purpose, files: [o.kernel, o.initramfs, o.rootfs], args: (vmDir) => qemuArgs({ shape, acceleration: this.acceleration, kernel: o.kernel, initramfs: o.initramfs, rootfs: o.rootfs, vmDir, tscKhz: undefined, memoryFile: { path: join(vmDir, 'mem'), share: true }, seccomp: o.seccomp, extraKernelArgs: o.extraKernelArgs }) });
  }

  private ownTemplate(t: VmTemplate): QemuTemplate {
    const tpl = t as QemuTemplate;
    if (!this.templates.has(tpl)) throw new CodeCellError('internal_error', `unknown template ${t.id}`);
    return tpl;
  }

  async restore(o: RestoreOptions): Promise<VmHandle> {
    const tpl = this.ownTemplate(o.template);
    return this.start({ shape: tpl.shape, asTemplate: false, signal: o.signal, template: tpl });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await Promise.all([...this.vms].map((vm) => vm.destroy()));
    this.vms.clear();
    await Promise.all([...this.templates].map((t) => t.dispose()));
  }

  /** An empty template directory in the run directory; `dispose` removes it. */
  private async newTemplate(id: string, shape: VmShape): Promise<QemuTemplate> {
    const dir = await mkdtemp(join(this.opts.runDir, 'tpl-'));
    const tpl: QemuTemplate = {
      id,
      shape,
      dir,
      memPath: join(dir, 'mem'),
      statePath: join(dir, 'state'),
      dispose: async () => {
        this.templates.delete(tpl);
        await rm(dir, { recursive: true, force: true });
      },
    };
    return tpl;
  }

  private async start(o: { shape: VmShape; asTemplate: boolean; signal?: AbortSignal; template?: QemuTemplate }): Promise<QemuVm> {
    const accel = this.accel;
    if (!accel) throw new CodeCellError('internal_error', 'QemuDriver.init() was not called');
    if (this.disposed) throw new CodeCellError('sandbox_unavailable', 'the VMM driver is shutting down');
    return this.spawnVm({ ...o, accel });
  }

  private async spawnVm(o: {
    shape: VmShape;
    accel: Acceleration;
    asTemplate: boolean;
    signal?: AbortSignal;
    template?: QemuTemplate;
  }): Promise<QemuVm> {
    const id = `vm${process.pid}-${++vmCounter}`;
    const vmDir = await mkdtemp(join(this.opts.runDir, `${id}-`));
    const cgroup = await this.opts.cgroups?.create(id, {
      memoryBytes: (o.shape.memMb + VMM_MEMORY_OVERHEAD_MB) * 1024 * 1024,
      pids: 64,
      cpus: o.shape.vcpus,
    });
    const memoryFile = o.template
      ? { path: o.template.memPath, share: false }
      : o.asTemplate
        ? { path: join(vmDir, 'mem'), share: true }
        : undefined;
    const args = qemuArgs({
      shape: o.shape,
      acceleration: o.accel,
      kernel: this.opts.kernel,
      initramfs: this.opts.initramfs,
      rootfs: this.opts.rootfs,
      vmDir,
      tscKhz: this.tscKhz,
      memoryFile,
      incoming: o.template !== undefined,
      seccomp: this.opts.seccomp,
      extraKernelArgs: this.opts.extraKernelArgs,
    });
    const vm = new QemuVm({ id, qemuBin: this.qemuBin, args, vmDir, shape: o.shape, cgroup, restored: o.template !== undefined });
    this.vms.add(vm);
    void vm.exited.then(() => this.vms.delete(vm));
    try {
      if (o.template) await this.incomingMigration(vm, o.template, o.signal);
      await vm.connectChannel(QEMU_SOCKET_TIMEOUT_MS, o.signal);
      return vm;
    } catch (err) {
      await vm.destroy();
      throw err;
    }
  }

  private async incomingMigration(vm: QemuVm, tpl: QemuTemplate, signal?: AbortSignal): Promise<void> {
    const qmp = await vm.qmp(QEMU_SOCKET_TIMEOUT_MS, signal);
    try {
      await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: true }] });
      const sockPath = join(vm.vmDir, 'mig.sock');
      await qmp.execute('migrate-incoming', { uri: `unix:${sockPath}` });
      const sock = await connectWithRetry({ path: sockPath, timeoutMs: QEMU_SOCKET_TIMEOUT_MS, signal });
      // QEMU may close its end as soon as it has read the stream, so a write
      // that ends in 'close' rather than 'finish' is normal; query-status below
      // says whether the restore worked.
      const state = (tpl.state ??= await readFile(tpl.statePath));
      await new Promise<void>((resolve) => {
        sock.once('finish', () => resolve());
        sock.once('close', () => resolve());
        sock.once('error', () => resolve());
        sock.end(state);
      });
      sock.destroySoon();
      const deadline = Date.now() + MIGRATION_TIMEOUT_MS;
      for (;;) {
        const st = await qmp.execute<{ status: string }>('query-status');
        if (st.status === 'paused' || st.status === 'running') break;
        if (st.status !== 'inmigrate' && st.status !== 'prelaunch') {
          throw new Error(`restore ended in state ${st.status}`);
        }
        if (Date.now() > deadline) throw new Error(`restore did not finish in ${MIGRATION_TIMEOUT_MS} ms`);
        await sleep(2, undefined, { signal });
      }
      await qmp.execute('cont');
    } catch (err) {
      throw new CodeCellError('vm_boot_failed', `restore of ${tpl.id} failed: ${String(err)}${vm.diagnostics()}`, { cause: err });
    } finally {
      qmp.close();
    }
  }

  private own(vm: VmHandle): QemuVm {
    if (!(vm instanceof QemuVm) || !this.vms.has(vm)) throw new CodeCellError('internal_error', `VM ${vm.id} is not a live QEMU VM of this driver`);
    return vm;
  }

  private async probeBoot(accel: Acceleration, signal?: AbortSignal): Promise<QemuVm> {
    return this.spawnVm({ shape: { memMb: 256, vcpus: 1 }, accel, asTemplate: false, signal });
  }
}

/** Listens on a Unix socket and writes the first connection's bytes to a file; `close` stops listening. */
function receiveToFile(sockPath: string, filePath: string): { done: Promise<void>; close: () => void } {
  const server = createServer();
  const done = new Promise<void>((resolve, reject) => {
    server.once('connection', (sock) => {
      server.close();
      pipeline(sock, createWriteStream(filePath)).then(resolve, reject);
    });
    server.once('error', reject);
  });
  done.catch(() => undefined); // awaited by the caller; never an unhandled rejection
  server.listen(sockPath);
  return { done, close: () => void server.close(() => undefined) };
}

async function waitMigration(qmp: { execute: <T>(c: string) => Promise<T> }, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + MIGRATION_TIMEOUT_MS;
  for (;;) {
    const st = await qmp.execute<{ status?: string; 'error-desc'?: string }>('query-migrate');
    if (st.status === 'completed') return;
    if (st.status === 'failed' || st.status === 'cancelled') throw new Error(`migration ${st.status}: ${st['error-desc'] ?? ''}`);
    if (Date.now() > deadline) throw new Error(`snapshot did not finish in ${MIGRATION_TIMEOUT_MS} ms`);
    await sleep(2, undefined, { signal });
  }
}
