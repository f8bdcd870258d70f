/**
 * The warm pool: VMs booted (or cloned from a snapshot template) ahead of
 * demand and kept idle with the agent ready. A VM leaves the pool once and is
 * never returned: whoever acquires it destroys it.
 * @module
 */
import { CodeCellError } from '@codecell/protocol';
import { AgentConnection } from '../agent/AgentConnection.js';
import type { VmHandle, VmmDriver, VmShape, VmTemplate } from '../vmm/VmmDriver.js';
import type { Logger } from '@codecell/server-kit';
import { warmUp } from './warmUp.js';
import { GuestMemory, GuestMemoryFullError } from './GuestMemory.js';
import { TEMPLATE_PURPOSE, makePoolTemplate } from './poolTemplate.js';

/** A VM whose agent answered `ready` (and was reseeded, if restored). */
export interface ReadyVm {
  readonly vm: VmHandle;
  readonly agent: AgentConnection;
  /** Milliseconds from start of boot/restore to ready. */
  readonly startMs: number;
}

export type PoolMode = 'snapshot' | 'boot';

export interface VmPoolOptions {
  readonly driver: VmmDriver;
  /** Shape of pooled VMs; other shapes are booted on demand. */
  readonly shape: VmShape;
  /** Idle VMs to keep ready. 0 disables pre-warming. */
  readonly target: number;
  /** `snapshot` clones a booted template when the driver supports it. */
  readonly mode: PoolMode;
  /** Deadline for a cold boot to reach `ready`. */
  readonly bootTimeoutMs: number;
  /** Deadline for a restore to reach `ready`. */
  readonly restoreTimeoutMs: number;
  /** At most this many VMs start at once (each start is CPU-heavy under TCG). */
  readonly maxStarting: number;
  /** Run a tiny program in each new VM before pooling it (primes TCG's code cache). */
  readonly warmUp: boolean;
  /** MAX_GUEST_MEMORY_MB: guest memory of all VMs together (pool, template, handed out). @default Infinity */
  readonly maxGuestMemoryMb?: number;
  readonly logger: Logger;
}

type Waiter = { resolve: (vm: ReadyVm) => void; reject: (err: unknown) => void };

/** Pause before retrying after a failed start, doubled per consecutive failure. */
const RETRY_BASE_MS = 200;
const RETRY_MAX_MS = 10_000;
/** How long an idle VM may take to answer the ping before it is handed out. */
export const IDLE_PING_TIMEOUT_MS = 2_000;

export class VmPool {
  private readonly idle: ReadyVm[] = [];
  private readonly waiters: Waiter[] = [];
  private starting = 0;
  private template: VmTemplate | undefined;
  private templating: Promise<VmTemplate> | undefined;
  /** Settles once the template has been copied for later processes (it must exist until then). */
  private templateKept: Promise<void> = Promise.resolve();
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private disposed = false;
  /** Aborted by dispose: every start in flight stops waiting (a VM that never answers must not hold up shutdown). */
  private readonly lifetime = new AbortController();
  private readonly outstanding = new Set<ReadyVm>();
  /** Starts in flight, so dispose can wait for them (a VM must not appear after it). */
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly memory: GuestMemory;
  /** Guest memory counted for each VM started and not yet destroyed. */
  private readonly charged = new Map<ReadyVm, number>();
  /** Python version the guest agent reported (null until a VM is ready). */
  python: string | null = null;
  /** Last start duration per kind, for /healthz and benchmarks. */
  readonly lastStartMs: { boot?: number; restore?: number } = {};

  constructor(private readonly o: VmPoolOptions) {
    this.memory = new GuestMemory(o.maxGuestMemoryMb ?? Infinity);
  }

  get mode(): PoolMode {
    return this.o.mode === 'snapshot' && this.o.driver.supportsSnapshots ? 'snapshot' : 'boot';
  }

  stats(): { idle: number; starting: number; target: number; mode: PoolMode; guestMemoryMb: number } {
    return { idle: this.idle.length, starting: this.starting, target: this.o.target, mode: this.mode, guestMemoryMb: this.memory.usedMb };
  }

  /** Begins filling the pool. */
  start(): void {
    this.fill();
  }

  /** True once at least one VM is idle (or the pool is configured empty). */
  get ready(): boolean {
    return this.o.target === 0 || this.idle.length > 0;
  }

  /**
   * Hands out a ready VM of `shape`, waiting for one if none is idle. The
   * caller owns it from then on and must destroy it.
   * @throws GuestMemoryFullError when no VM can start within MAX_GUEST_MEMORY_MB
   */
  async acquire(shape: VmShape, signal?: AbortSignal): Promise<ReadyVm> {
    if (this.disposed) throw new CodeCellError('sandbox_unavailable', 'the sandbox is shutting down');
    if (!sameShape(shape, this.o.shape)) {
      // Idle pooled VMs are only a head start: give their memory to a VM that is needed now.
      while (!this.memory.fits(shape.memMb) && this.idle.length > 0) await this.release(this.idle.shift() as ReadyVm, { refill: false });
      this.memory.take(shape.memMb);
      return this.startOne(shape, { pooled: false, signal });
    }
    const vm = await this.takeIdle();
    if (vm) {
      this.fill();
      return vm;
    }
    // No idle VM, none starting that is not spoken for, and no memory to start one: say so now.
    if (this.starting <= this.waiters.length && !this.memory.fits(this.memoryForNextStart())) {
      throw new GuestMemoryFullError({ usedMb: this.memory.usedMb, maxMb: this.memory.maxMb, needMb: this.memoryForNextStart() });
    }
    const p = new Promise<ReadyVm>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (v) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(v);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal?.reason ?? new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
    this.fill();
    return p;
  }

  /**
   * Destroys a VM that came from {@link VmPool.acquire}, then gives its memory
   * back. `refill: false` keeps the pool from taking that memory for a warm VM
   * (the caller freed it for a VM of its own).
   */
  async release(vm: ReadyVm, o: { refill?: boolean } = {}): Promise<void> {
    this.outstanding.delete(vm);
    const mb = this.charged.get(vm) ?? 0;
    this.charged.delete(vm);
    vm.agent.dispose();
    await vm.vm.destroy();
    this.memory.give(mb);
    if (mb > 0 && o.refill !== false) this.fill(); // memory freed: the pool (or a waiter) may start a VM now
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.lifetime.abort(new CodeCellError('sandbox_unavailable', 'the sandbox is shutting down'));
    clearTimeout(this.retryTimer);
    for (const w of this.waiters.splice(0)) w.reject(new CodeCellError('sandbox_unavailable', 'the sandbox is shutting down'));
    await Promise.allSettled([...this.inFlight]);
    const all = [...this.idle.splice(0), ...this.outstanding];
    await Promise.all(all.map((v) => this.release(v)));
    await this.templating?.catch(() => undefined);
    await this.dropTemplate();
  }

  /** Disposes the snapshot template and gives its memory back; a `bad` one is not restored by later processes either. */
  private async dropTemplate(bad = false): Promise<void> {
    const tpl = this.template;
    this.template = undefined;
    if (!tpl) return;
    await this.templateKept;
    if (bad) await this.o.driver.forgetTemplate?.(tpl, TEMPLATE_PURPOSE).catch(() => undefined);
    await tpl.dispose();
    this.memory.give(tpl.shape.memMb);
  }

  /** Memory the next pooled start needs: one VM, plus the template when there is none yet. */
  private memoryForNextStart(): number {
    const templateNeeded = this.mode === 'snapshot' && !this.template && !this.templating;
    return this.o.shape.memMb * (templateNeeded ? 2 : 1);
  }

  /**
   * Takes an idle VM that answers a ping: a VM can die while idle, and its
   * exit may not have been noticed yet. A ping costs well under a millisecond.
   */
  private async takeIdle(): Promise<ReadyVm | undefined> {
    for (;;) {
      const vm = this.idle.shift();
      if (!vm) return undefined;
      this.outstanding.add(vm);
      if (!vm.agent.closed) {
        try {
          await vm.agent.waitReady({ timeoutMs: IDLE_PING_TIMEOUT_MS });
          return vm;
        } catch {
          // fall through: replace it
        }
      }
      this.o.logger.warn('an idle VM did not answer; replacing it', { vmId: vm.vm.id });
      void this.release(vm);
    }
  }

  /** Starts VMs until idle + starting covers the target and every waiter, within the memory limit. */
  private fill(): void {
    if (this.disposed || this.retryTimer) return;
    while (this.starting < this.o.maxStarting && this.idle.length + this.starting < this.o.target + this.waiters.length) {
      if (!this.memory.fits(this.memoryForNextStart())) {
        // Waiters nothing will serve get the error now, so the caller can free memory (evict an idle session).
        const unserved = this.waiters.splice(this.starting);
        for (const w of unserved) w.reject(new GuestMemoryFullError({ usedMb: this.memory.usedMb, maxMb: this.memory.maxMb, needMb: this.memoryForNextStart() }));
        return;
      }
      this.memory.take(this.o.shape.memMb);
      this.starting++;
      this.startOne(this.o.shape, { pooled: true })
        .then((vm) => {
          this.failures = 0;
          this.handOut(vm);
        })
        .catch((err: unknown) => this.handleStartFailure(err))
        .finally(() => {
          this.starting--;
          this.fill();
        });
    }
  }

  private handOut(vm: ReadyVm): void {
    if (this.disposed) {
      void this.release(vm);
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      this.outstanding.add(vm);
      waiter.resolve(vm);
      return;
    }
    this.idle.push(vm);
    void vm.vm.exited.then(() => {
      const i = this.idle.indexOf(vm);
      if (i >= 0) {
        this.idle.splice(i, 1);
        this.o.logger.warn('an idle VM exited; replacing it', { vmId: vm.vm.id });
        void this.release(vm); // gives its memory back, then refills
        this.fill();
      }
    });
  }

  private handleStartFailure(err: unknown): void {
    this.failures++;
    const message = err instanceof Error ? err.message : String(err);
    this.o.logger.error('VM start failed', { failures: this.failures, error: message.slice(0, 2000) });
    if (this.failures >= 3 && this.template) {
      // Clones keep failing: the template itself may be bad. Make a new one.
      void this.dropTemplate(true);
    }
    if (this.failures >= 3) {
      const failure = err instanceof CodeCellError ? err : new CodeCellError('vm_boot_failed', `could not start a VM: ${message}`);
      for (const w of this.waiters.splice(0)) w.reject(failure);
    }
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (this.failures - 1));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.fill();
    }, delay);
  }

  /**
   * Boots (or restores) one VM and waits until its agent is ready. Its memory
   * was taken by the caller; it is given back here if the start fails.
   */
  private startOne(shape: VmShape, o: { pooled: boolean; signal?: AbortSignal }): Promise<ReadyVm> {
    const signal = o.signal ? AbortSignal.any([o.signal, this.lifetime.signal]) : this.lifetime.signal;
    const p = this.startOneUntracked(shape, o.pooled, signal).then(
      (vm) => {
        this.charged.set(vm, shape.memMb);
        return vm;
      },
      (err: unknown) => {
        this.memory.give(shape.memMb);
        throw err;
      },
    );
    this.inFlight.add(p);
    void p.then(
      () => this.inFlight.delete(p),
      () => this.inFlight.delete(p),
    );
    return p;
  }

  private async startOneUntracked(shape: VmShape, pooled: boolean, signal: AbortSignal): Promise<ReadyVm> {
    const started = performance.now();
    const useSnapshot = pooled && this.mode === 'snapshot';
    const template = useSnapshot ? await this.ensureTemplate(signal) : undefined;
    const vm = template ? await this.o.driver.restore({ template, signal }) : await this.o.driver.boot({ shape, signal });
    const agent = new AgentConnection(vm.channel);
    try {
      const died = vm.exited.then((e) => {
        throw new CodeCellError('vm_boot_failed', `VM ${vm.id} exited while starting (code ${e.code}, signal ${e.signal})`);
      });
      const ready = template
        ? agent.reseed({ timeoutMs: this.o.restoreTimeoutMs, signal })
        : agent.waitReady({ timeoutMs: this.o.bootTimeoutMs, signal });
      await Promise.race([ready, died]);
      if (this.o.warmUp) await Promise.race([warmUp(agent, signal), died]);
      this.python = agent.lastReady?.python ?? this.python;
      const startMs = performance.now() - started;
      this.lastStartMs[template ? 'restore' : 'boot'] = startMs;
      const ready_ = { vm, agent, startMs };
      if (!pooled) this.outstanding.add(ready_);
      return ready_;
    } catch (err) {
      agent.dispose();
      await vm.destroy();
      if (err instanceof CodeCellError && err.code === 'vm_boot_failed') throw err;
      const why = err instanceof Error ? err.message : String(err);
      throw new CodeCellError('vm_boot_failed', `VM ${vm.id} failed to start: ${why}${vm.diagnostics?.() ?? ''}`, { cause: err });
    }
  }

  private ensureTemplate(signal?: AbortSignal): Promise<VmTemplate> {
    if (this.template) return Promise.resolve(this.template);
    this.templating ??= (async () => {
      this.memory.take(this.o.shape.memMb); // the template's RAM file, shared by its clones
      const made = await makePoolTemplate({ driver: this.o.driver, shape: this.o.shape, bootTimeoutMs: this.o.bootTimeoutMs, logger: this.o.logger, signal });
      this.template = made.template;
      this.templateKept = made.kept;
      return made.template;
    })().catch((err: unknown) => {
      if (!(err instanceof GuestMemoryFullError)) this.memory.give(this.o.shape.memMb);
      throw err;
    }).finally(() => {
      this.templating = undefined;
    });
    return this.templating;
  }
}

function sameShape(a: VmShape, b: VmShape): boolean {
  return a.memMb === b.memMb && a.vcpus === b.vcpus;
}
