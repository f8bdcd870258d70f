/**
 * The VMM state machine behind the fake Firecracker API: which request is allowed in
 * which state, with Firecracker's error strings (vmm.md section 2), plus snapshots
 * (section 3). HTTP framing lives in fakeFirecrackerServer.ts.
 * @module
 */
import { access, appendFile, open, readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { FakeVsockMuxer, echoGuest, type FakeGuestHandler } from './FakeVsockMuxer.js';
import {
  FAULTS,
  Fault,
  SPECS,
  parseBody,
  parseStruct,
  serdeFault,
  snapshotLoadSpec,
  type JsonObject,
  type StructSpec,
} from './fakeApiSchemas.js';


/** How the fake guest behaves. */
export interface FakeGuestOptions {
  /** Time from InstanceStart until the guest agent listens. @default 50 */
  readonly bootDelayMs?: number;
  /** Ports the guest agent listens on once booted. @default [1024] */
  readonly ports?: readonly number[];
  /** The guest side of each accepted vsock connection. @default echo */
  readonly onConnection?: FakeGuestHandler;
  /** The guest kernel panics after booting; with `panic=1 reboot=k` Firecracker exits 0. */
  readonly panicAfterBoot?: boolean;
}

/** Options of {@link FakeVmm}. */
export interface FakeVmmOptions {
  readonly id: string;
  readonly version: string;
  /** Relative paths in request bodies are resolved against this (Firecracker's cwd). */
  readonly cwd: string;
  readonly guest?: FakeGuestOptions;
  /** The real process would exit now (failed snapshot load, guest reboot). */
  readonly onExit: (code: number, reason: string) => void;
  /** Serial console and log output (Firecracker writes it to stdout). */
  readonly console?: (line: string) => void;
}

/** A response to send: 204 when `body` is undefined. */
export interface FakeResponse {
  readonly status: number;
  readonly body?: unknown;
  /** Runs once the response is written. */
  readonly afterSend?: () => void;
}

const DEFAULT_BOOT_DELAY_MS = 50;
const MIB = 1024 * 1024;
const SNAPSHOT_MAGIC = 'fake-firecracker-snapshot';

interface SnapshotState {
  readonly magic: string;
  readonly firecracker_version: string;
  readonly machine_config: JsonObject;
  readonly vsock: { readonly guest_cid: number; readonly uds_path: string } | null;
  readonly listening_ports: readonly number[];
  /** Block devices: a restore reopens each backing file at the same (cwd-relative) path. */
  readonly drives: readonly JsonObject[];
}

/** One fake microVM. */
export class FakeVmm {
  state: 'Not started' | 'Running' | 'Paused' = 'Not started';
  machineConfig: JsonObject = defaultMachineConfig();
  bootSource: JsonObject | undefined;
  readonly drives = new Map<string, JsonObject>();
  vsock: { readonly guest_cid: number; readonly uds_path: string } | undefined;
  #muxer: FakeVsockMuxer | undefined;
  #bootSpecific = false;
  #metrics = false;
  #logPath: string | undefined;
  #bootTimer: NodeJS.Timeout | undefined;
  readonly #opts: FakeVmmOptions;

  constructor(opts: FakeVmmOptions) {
    this.#opts = opts;
  }

  /** Handles one request. `body` is undefined when the request carried none. */
  async handle(method: string, rawPath: string, body: string | undefined): Promise<FakeResponse> {
    const path = rawPath.split('?')[0] ?? '';
    const [first = '', second] = path.replace(/^\/+/, '').split('/');
    if (this.#logPath)
      await appendFile(this.#logPath, `The API server received a ${method} request on "${path}".\n`);
    try {
      const reply = await this.#route({ method, first, second, body });
      return (
        reply ?? {
          status: 400,
          body: { fault_message: `Invalid request method and/or path: ${method} ${first}.` },
        }
      );
    } catch (err) {
      if (!(err instanceof Fault)) throw err;
      return { status: 400, body: { fault_message: err.message } };
    }
  }

  /** Stops timers and unbinds the vsock socket. */
  async close(): Promise<void> {
    clearTimeout(this.#bootTimer);
    await this.#muxer?.close();
    this.#muxer = undefined;
  }

  async #route(req: {
    method: string;
    first: string;
    second: string | undefined;
    body: string | undefined;
  }): Promise<FakeResponse | undefined> {
    const { method, first, second, body } = req;
    if (method === 'GET') {
      if (body !== undefined) throw new Fault('GET request cannot have a body.');
      if (first === '')
        return ok({
          id: this.#opts.id,
          state: this.state,
          vmm_version: this.#opts.version,
          app_name: 'Firecracker',
        });
      if (first === 'version') return ok({ firecracker_version: this.#opts.version });
      if (first === 'machine-config') return ok(this.machineConfig);
      if (first === 'vm' && second === 'config') return ok(this.#fullConfig());
      return undefined;
    }
    if (method === 'PUT' || method === 'PATCH') {
      const known = method === 'PUT' ? this.#put(first, second, body) : this.#patch(first, body);
      if (known) return known;
      if (body === undefined) throw new Fault(`Empty ${method} request.`);
    }
    return undefined;
  }

  #put(
    first: string,
    second: string | undefined,
    body: string | undefined,
  ): Promise<FakeResponse> | undefined {
    if (body === undefined) return undefined;
    switch (first) {
      case 'machine-config':
        return this.#preBoot(SPECS.machineConfig, body, (cfg) =>
          this.#setMachineConfig({ ...defaultMachineConfig(), ...cfg }),
        );
      case 'boot-source':
        return this.#preBoot(SPECS.bootSource, body, (cfg) => this.#setBootSource(cfg));
      case 'drives':
        return this.#putDrive(second, body);
      case 'vsock':
        return this.#preBoot(SPECS.vsock, body, (cfg) => this.#setVsock(cfg));
      case 'entropy':
        return this.#preBoot(SPECS.entropy, body, () => void (this.#bootSpecific = true));
      case 'logger':
        return this.#preBoot(SPECS.logger, body, (cfg) => this.#setLogger(cfg));
      case 'metrics':
        return this.#preBoot(SPECS.metrics, body, (cfg) => this.#setMetrics(cfg));
      case 'serial':
        return this.#preBoot(SPECS.serial, body, () => undefined);
      case 'actions':
        return this.#action(body);
      case 'snapshot':
        if (second === 'create') return this.#createSnapshot(body);
        if (second === 'load') return this.#loadSnapshot(body);
        return undefined;
      default:
        return undefined;
    }
  }

  #patch(first: string, body: string | undefined): Promise<FakeResponse> | undefined {
    if (body === undefined) return undefined;
    if (first === 'machine-config') {
      return this.#preBoot(SPECS.machineConfigPatch, body, (cfg) =>
        this.#setMachineConfig({ ...this.machineConfig, ...cfg }),
      );
    }
    if (first === 'vm') {
      return this.#postBoot(SPECS.vmState, body, (cfg) => {
        this.state = cfg['state'] === 'Paused' ? 'Paused' : 'Running';
        this.#muxer?.setRunning(this.state === 'Running');
      });
    }
    return undefined;
  }

  async #preBoot(spec: StructSpec, body: string, apply: (cfg: JsonObject) => unknown): Promise<FakeResponse> {
    const cfg = parseBody(spec, body);
    if (this.state !== 'Not started') throw new Fault(FAULTS.preBootOnly);
    await apply(cfg);
    return { status: 204 };
  }

  async #postBoot(
    spec: StructSpec,
    body: string,
    apply: (cfg: JsonObject) => unknown,
  ): Promise<FakeResponse> {
    const cfg = parseBody(spec, body);
    if (this.state === 'Not started') throw new Fault(FAULTS.postBootOnly);
    await apply(cfg);
    return { status: 204 };
  }

  #setMachineConfig(cfg: JsonObject): void {
    const vcpus = cfg['vcpu_count'] as number;
    if (vcpus < 1 || vcpus > 32 || (cfg['smt'] === true && vcpus > 1 && vcpus % 2 === 1)) {
      throw new Fault(
        'The vCPU number is invalid! The vCPU number can only be 1 or an even number when SMT is enabled.',
      );
    }
    if (cfg['mem_size_mib'] === 0) throw new Fault('The memory size (MiB) is invalid.');
    this.machineConfig = cfg;
    this.#bootSpecific = true;
  }

  async #setBootSource(cfg: JsonObject): Promise<void> {
    const kernel = cfg['kernel_image_path'] as string;
    if (!(await readable(this.#path(kernel)))) {
      throw new Fault('The kernel file cannot be opened: No such file or directory (os error 2)');
    }
    const initrd = cfg['initrd_path'];
    if (typeof initrd === 'string' && !(await readable(this.#path(initrd)))) {
      throw new Fault(
        'The initrd file cannot be opened due to invalid path or invalid permissions. No such file or directory (os error 2)',
      );
    }
    this.bootSource = cfg;
    this.#bootSpecific = true;
  }

  async #putDrive(id: string | undefined, body: string): Promise<FakeResponse> {
    if (id === undefined || id === '') throw new Fault(FAULTS.emptyId);
    if (!/^[A-Za-z0-9_]+$/.test(id)) throw new Fault(FAULTS.badId);
    const cfg = parseBody(SPECS.drive, body);
    if (cfg['drive_id'] !== id) throw new Fault(FAULTS.idMismatch);
    // Post-boot PUT /drives is PCI hotplug, which needs --enable-pci; the fake has no PCI.
    if (this.state !== 'Not started') throw new Fault(FAULTS.preBootOnly);
    const hostPath = cfg['path_on_host'];
    if (typeof hostPath === 'string' && !(await readable(this.#path(hostPath)))) {
      throw new Fault(
        `Unable to create the block device: BackingFile(Os { code: 2, kind: NotFound, message: "No such file or directory" }, "${hostPath}")`,
      );
    }
    this.drives.set(id, cfg);
    this.#bootSpecific = true;
    return { status: 204 };
  }

  async #setVsock(cfg: JsonObject): Promise<void> {
    await this.#muxer?.close();
    this.#muxer = undefined;
    this.#muxer = await this.#bindVsock(cfg['uds_path'] as string);
    this.vsock = { guest_cid: cfg['guest_cid'] as number, uds_path: cfg['uds_path'] as string };
    this.#bootSpecific = true;
  }

  async #bindVsock(udsPath: string): Promise<FakeVsockMuxer> {
    try {
      return await FakeVsockMuxer.bind({
        path: this.#path(udsPath),
        onGuestConnection: this.#opts.guest?.onConnection ?? echoGuest,
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const detail =
        code === 'EADDRINUSE'
          ? 'Os { code: 98, kind: AddrInUse, message: "Address in use" }'
          : `Os { message: "${(err as Error).message}" }`;
      throw new Fault(`Cannot create backend for vsock device: UnixBind(${detail})`);
    }
  }

  async #setLogger(cfg: JsonObject): Promise<void> {
    const logPath = cfg['log_path'];
    if (typeof logPath === 'string') {
      this.#logPath = this.#path(logPath);
      await appendFile(this.#logPath, ''); // auto-created since v1.14
    }
  }

  async #setMetrics(cfg: JsonObject): Promise<void> {
    if (this.#metrics) throw new Fault(FAULTS.metricsTwice);
    await appendFile(this.#path(cfg['metrics_path'] as string), '');
    this.#metrics = true;
  }

  async #action(body: string): Promise<FakeResponse> {
    const cfg = parseBody(SPECS.actions, body);
    switch (cfg['action_type']) {
      case 'InstanceStart':
        if (this.state !== 'Not started') throw new Fault(FAULTS.preBootOnly);
        if (!this.bootSource) throw new Fault(FAULTS.noKernel);
        this.#start();
        return { status: 204 };
      case 'SendCtrlAltDel':
        if (this.state === 'Not started') throw new Fault(FAULTS.postBootOnly);
        this.#opts.console?.('reboot: Restarting system');
        return { status: 204, afterSend: () => this.#opts.onExit(0, 'guest rebooted') };
      default:
        if (this.state === 'Not started') throw new Fault(FAULTS.postBootOnly);
        if (!this.#metrics) throw new Fault('Flush metrics error: Metrics system not initialized.');
        return { status: 204 };
    }
  }

  #start(): void {
    this.state = 'Running';
    this.#muxer?.setRunning(true);
    const guest = this.#opts.guest ?? {};
    this.#opts.console?.(`[    0.000000] Linux version 6.1.0-fake (fake-firecracker ${this.#opts.version})`);
    this.#opts.console?.(`[    0.000000] Command line: ${JSON.stringify(this.bootSource?.['boot_args'] ?? '')}`);
    this.#bootTimer = setTimeout(() => {
      if (guest.panicAfterBoot) {
        this.#opts.console?.(
          '[    0.120000] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100',
        );
        this.#opts.onExit(0, 'guest panicked and rebooted');
        return;
      }
      for (const port of guest.ports ?? [1024]) this.#muxer?.listening.add(port);
      this.#opts.console?.('[    0.110000] Run /init as init process');
    }, guest.bootDelayMs ?? DEFAULT_BOOT_DELAY_MS);
  }

  async #createSnapshot(body: string): Promise<FakeResponse> {
    const cfg = parseBody(SPECS.snapshotCreate, body);
    if (this.state === 'Not started') throw new Fault(FAULTS.postBootOnly);
    if (this.state !== 'Paused') throw new Fault(FAULTS.notPaused);
    const state: SnapshotState = {
      magic: SNAPSHOT_MAGIC,
      firecracker_version: this.#opts.version,
      machine_config: this.machineConfig,
      vsock: this.vsock ?? null,
      listening_ports: [...(this.#muxer?.listening ?? [])],
      drives: [...this.drives.values()],
    };
    try {
      await writeFile(this.#path(cfg['snapshot_path'] as string), JSON.stringify(state));
      // Guest memory: a sparse file of the VM's size, like a real Full snapshot.
      const mem = await open(this.#path(cfg['mem_file_path'] as string), 'w');
      await mem.truncate((this.machineConfig['mem_size_mib'] as number) * MIB).finally(() => mem.close());
    } catch (err) {
      throw new Fault(
        `Create snapshot error: Cannot perform open on the snapshot backing file: ${osError(err)}`,
      );
    }
    // VIRTIO_VSOCK_EVENT_TRANSPORT_RESET: established connections do not survive.
    this.#muxer?.resetConnections();
    return { status: 204 };
  }

  async #loadSnapshot(body: string): Promise<FakeResponse> {
    const cfg = parseBody(snapshotLoadSpec(this.#opts.version), body);
    const backend =
      cfg['mem_backend'] === undefined ? undefined : parseStruct(SPECS.memBackend, cfg['mem_backend']);
    const override =
      cfg['vsock_override'] === undefined
        ? undefined
        : parseStruct(SPECS.vsockOverride, cfg['vsock_override']);
    if ((backend === undefined) === (cfg['mem_file_path'] === undefined)) {
      throw new Fault(serdeFault('either `mem_backend` or `mem_file_path` must be specified, but not both'));
    }
    if (this.state !== 'Not started') throw new Fault(FAULTS.preBootOnly);
    if (this.#bootSpecific) throw new Fault(FAULTS.loadAfterConfig);
    // From here on a failure ends the process, as in Firecracker.
    try {
      await this.#restore(cfg, backend, override);
    } catch (err) {
      const message = `Load snapshot error: Failed to restore from snapshot: ${err instanceof Error ? err.message : String(err)}`;
      return {
        status: 400,
        body: { fault_message: message },
        afterSend: () => this.#opts.onExit(1, message),
      };
    }
    return { status: 204 };
  }

  async #restore(
    cfg: JsonObject,
    backend: JsonObject | undefined,
    override: JsonObject | undefined,
  ): Promise<void> {
    if (backend?.['backend_type'] === 'Uffd')
      throw new Error('the fake supports only the File memory backend');
    const statePath = this.#path(cfg['snapshot_path'] as string);
    const memPath = this.#path((backend?.['backend_path'] ?? cfg['mem_file_path']) as string);
    let state: SnapshotState;
    try {
      state = JSON.parse(await readFile(statePath, 'utf8')) as SnapshotState;
    } catch (err) {
      throw new Error(`Cannot open the snapshot state file: ${osError(err)}`, { cause: err });
    }
    if (state.magic !== SNAPSHOT_MAGIC) throw new Error('Snapshot file is corrupted');
    if (
      state.firecracker_version.split('.').slice(0, 2).join('.') !==
      this.#opts.version.split('.').slice(0, 2).join('.')
    ) {
      throw new Error(
        `Invalid snapshot version: written by ${state.firecracker_version}, this is ${this.#opts.version}`,
      );
    }
    if (!(await readable(memPath)))
      throw new Error('Cannot open the memory file: No such file or directory (os error 2)');
    for (const drive of state.drives) {
      const hostPath = drive['path_on_host'];
      if (typeof hostPath === 'string' && !(await readable(this.#path(hostPath)))) {
        throw new Error(`Block(BackingFile(Os { code: 2, kind: NotFound, message: "No such file or directory" }, "${hostPath}"))`);
      }
      this.drives.set(drive['drive_id'] as string, drive);
    }
    this.machineConfig = state.machine_config;
    if (state.vsock) {
      const udsPath =
        typeof override?.['uds_path'] === 'string' ? override['uds_path'] : state.vsock.uds_path;
      this.#muxer = await this.#bindVsock(udsPath);
      this.vsock = { guest_cid: state.vsock.guest_cid, uds_path: udsPath };
      for (const port of state.listening_ports) this.#muxer.listening.add(port);
    }
    this.state = cfg['resume_vm'] === true ? 'Running' : 'Paused';
    this.#muxer?.setRunning(this.state === 'Running');
  }

  #fullConfig(): JsonObject {
    return {
      balloon: null,
      drives: [...this.drives.values()],
      'boot-source': this.bootSource ?? null,
      'cpu-config': null,
      logger: null,
      'machine-config': this.machineConfig,
      metrics: null,
      'mmds-config': null,
      'network-interfaces': [],
      vsock: this.vsock ?? null,
    };
  }

  #path(path: string): string {
    return resolve(this.#opts.cwd, path);
  }
}

function defaultMachineConfig(): JsonObject {
  return { vcpu_count: 1, mem_size_mib: 128, smt: false, track_dirty_pages: false, huge_pages: 'None' };
}

function ok(body: unknown): FakeResponse {
  return { status: 200, body };
}

async function readable(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function osError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'No such file or directory (os error 2)' : String((err as Error).message);
}
