/**
 * The {@link VmHandle} and {@link VmTemplate} of the Firecracker driver.
 * @module
 */
import type { Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import type { VmExit, VmHandle, VmShape, VmTemplate } from '../VmmDriver.js';
import type { FirecrackerProcess } from './FirecrackerProcess.js';

/** Snapshot file names, inside a template directory and inside a VM root. */
export const SNAPSHOT_STATE_NAME = 'snapshot.state';
export const SNAPSHOT_MEM_NAME = 'snapshot.mem';

/** A running Firecracker microVM with its connected vsock channel to the guest agent. */
export class FirecrackerVm implements VmHandle {
  readonly id: string;
  readonly pid: number | undefined;
  readonly shape: VmShape;
  readonly channel: Socket;
  readonly restored: boolean;
  readonly exited: Promise<VmExit>;
  /** The process behind this VM (driver-internal). */
  readonly process: FirecrackerProcess;
  readonly #onDestroyed: (vm: FirecrackerVm) => void;
  #destroying: Promise<void> | undefined;

  constructor(opts: {
    readonly process: FirecrackerProcess;
    readonly shape: VmShape;
    readonly channel: Socket;
    readonly restored: boolean;
    readonly onDestroyed: (vm: FirecrackerVm) => void;
  }) {
    this.process = opts.process;
    this.id = opts.process.id;
    this.pid = opts.process.pid;
    this.shape = opts.shape;
    this.channel = opts.channel;
    this.restored = opts.restored;
    this.exited = opts.process.exited;
    this.#onDestroyed = opts.onDestroyed;
    // The channel resets when the VMM dies; its owner sees 'close', and an 'error'
    // nobody listens to yet must not crash the controller.
    this.channel.on('error', () => undefined);
  }

  /** Closes the channel, SIGKILLs Firecracker and removes the VM's files. Safe to call twice. */
  destroy(): Promise<void> {
    this.#destroying ??= (async () => {
      this.channel.destroy();
      try {
        await this.process.destroy();
      } finally {
        this.#onDestroyed(this);
      }
    })();
    return this.#destroying;
  }
}

/** A Full snapshot on disk: `snapshot.state` plus the shared, immutable `snapshot.mem`. */
export class FirecrackerTemplate implements VmTemplate {
  readonly id: string;
  readonly shape: VmShape;
  readonly dir: string;
  /** Version of the Firecracker that wrote it; restore with the same minor version. */
  readonly firecrackerVersion: string;
  readonly #onDisposed: (template: FirecrackerTemplate) => void;
  #disposing: Promise<void> | undefined;

  constructor(opts: {
    readonly id: string;
    readonly shape: VmShape;
    readonly dir: string;
    readonly firecrackerVersion: string;
    readonly onDisposed: (template: FirecrackerTemplate) => void;
  }) {
    this.id = opts.id;
    this.shape = opts.shape;
    this.dir = opts.dir;
    this.firecrackerVersion = opts.firecrackerVersion;
    this.#onDisposed = opts.onDisposed;
  }

  get statePath(): string {
    return `${this.dir}/${SNAPSHOT_STATE_NAME}`;
  }

  get memPath(): string {
    return `${this.dir}/${SNAPSHOT_MEM_NAME}`;
  }

  /**
   * Removes the template's files. Clones already restored keep working: their mapping
   * of the memory file outlives its directory entry.
   */
  dispose(): Promise<void> {
    this.#disposing ??= (async () => {
      try {
        await rm(this.dir, { recursive: true, force: true });
      } finally {
        this.#onDisposed(this);
      }
    })();
    return this.#disposing;
  }
}
