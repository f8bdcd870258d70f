/**
 * The one interface every microVM backend implements (QEMU microvm, Firecracker,
 * and a fake for unit tests). The core (pool, runner) only ever sees this.
 * @module
 */
import type { Duplex } from 'node:stream';

/** Size of a VM. Clones of a template always have the template's shape. */
export interface VmShape {
  /** Guest RAM in MiB (includes the guest's own overhead). */
  readonly memMb: number;
  readonly vcpus: number;
}

/** How a VMM process ended. */
export interface VmExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * A running microVM. `channel` is a connected byte stream to the guest agent;
 * the agent protocol (framing, ready, exec) is layered on top by `AgentConnection`.
 */
export interface VmHandle {
  readonly id: string;
  /** PID of the VMM process on the host, when there is one. */
  readonly pid: number | undefined;
  readonly shape: VmShape;
  readonly channel: Duplex;
  /** True when restored from a template: the guest must be reseeded before use. */
  readonly restored: boolean;
  /** Resolves when the VMM process has exited (never rejects). */
  readonly exited: Promise<VmExit>;
  /** Kills the VMM and removes every file it owned. Safe to call twice. */
  destroy(): Promise<void>;
  /** What the VMM and guest console said last, for error messages. */
  diagnostics?(): string;
}

/** An opaque snapshot of a booted VM from which clones are restored. */
export interface VmTemplate {
  readonly id: string;
  readonly shape: VmShape;
  /** Removes the template's files. Safe to call twice. */
  dispose(): Promise<void>;
}

export interface BootOptions {
  readonly shape: VmShape;
  /** This VM will be passed to `createTemplate` (QEMU keeps its RAM in a file for that). */
  readonly asTemplate?: boolean;
  readonly signal?: AbortSignal;
}

export interface RestoreOptions {
  readonly template: VmTemplate;
  readonly signal?: AbortSignal;
}

/** A microVM backend. */
export interface VmmDriver {
  readonly name: 'qemu' | 'firecracker' | 'fake';
  /** Known after {@link VmmDriver.init}. */
  readonly acceleration: 'kvm' | 'tcg' | 'none';
  /** Whether {@link VmmDriver.createTemplate} / {@link VmmDriver.restore} work. */
  readonly supportsSnapshots: boolean;
  /** Checks prerequisites (binaries, images, acceleration probe). Idempotent. */
  init(signal?: AbortSignal): Promise<void>;
  /**
   * Cold-boots a VM. Resolves once the VMM runs and the channel is connected;
   * the agent's `ready` frame is awaited by the caller.
   */
  boot(opts: BootOptions): Promise<VmHandle>;
  /**
   * Turns a booted, agent-ready, idle VM into a template. The VM is consumed
   * (destroyed) whether this succeeds or not.
   */
  createTemplate(vm: VmHandle, signal?: AbortSignal): Promise<VmTemplate>;
  /** Starts a clone of a template. Resolves once the channel is connected. */
  restore(opts: RestoreOptions): Promise<VmHandle>;
  /**
   * Optional: a template of `shape` that an earlier process made with the same
   * image, VMM and options, and `purpose` (what was done to the VM before the
   * snapshot), kept by {@link VmmDriver.keepTemplate}; undefined when none.
   */
  findTemplate?(shape: VmShape, purpose: string, signal?: AbortSignal): Promise<VmTemplate | undefined>;
  /** Optional: keeps a template made by this driver for later processes. */
  keepTemplate?(template: VmTemplate, purpose: string): Promise<void>;
  /** Optional: forgets the kept copy of a template whose clones fail. */
  forgetTemplate?(template: VmTemplate, purpose: string): Promise<void>;
  /** Destroys everything the driver still owns. */
  dispose(): Promise<void>;
}
