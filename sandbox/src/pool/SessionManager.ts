/**
 * Sessions (rooms) attach one VM each and keep it, with its `/workspace`,
 * across their runs; runs of one session are serialised. A session's VM is
 * destroyed when the session idles out and is never handed to anyone else.
 * Runs without a session get a VM of their own, destroyed after the run.
 * Terminal sessions (a shell, a REPL) share the session's VM with its runs
 * without waiting for them ({@link SessionManager.withSharedVm}).
 * At most MAX_SESSIONS sessions exist at once: a new one evicts the least
 * recently used idle session, or is refused when every session is busy. When
 * a VM cannot start within MAX_GUEST_MEMORY_MB, idle sessions are evicted
 * (least recently used first) to make room.
 * @module
 */
import { CodeCellError } from '@codecell/protocol';
import type { VmShape } from '../vmm/VmmDriver.js';
import type { Logger } from '@codecell/server-kit';
import type { ReadyVm, VmPool } from './VmPool.js';
import { GuestMemoryFullError } from './GuestMemory.js';

interface Session {
  readonly id: string;
  vm: ReadyVm | undefined;
  /** Tail of the chain of this session's runs. */
  tail: Promise<void>;
  idleTimer: NodeJS.Timeout | undefined;
  /** Runs of this session waiting or running. */
  active: number;
  /** When it was last used (a counter: larger is more recent). */
  lastUsed: number;
}

/** What a run tells the session about its VM when it ends. */
export interface RunLease {
  readonly vm: ReadyVm;
  /** Set when the VM must not be used again (crashed, or killed by the host). */
  discard(): void;
}

export interface WithVmOptions {
  readonly sessionId?: string;
  readonly shape: VmShape;
  readonly signal?: AbortSignal;
  /**
   * Waits for admission (e.g. a global concurrency slot) once it is this
   * run's turn in its session; resolves with the function that gives it back.
   */
  readonly admit?: () => Promise<() => void>;
}

/** Options of {@link SessionManager}. */
export interface SessionManagerOptions {
  readonly pool: VmPool;
  /** Destroy a session's VM after this long without runs. */
  readonly idleTimeoutMs: number;
  /** MAX_SESSIONS: most sessions at once. @default Infinity */
  readonly maxSessions?: number;
  readonly logger: Logger;
}

export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private readonly o: SessionManagerOptions;
  private clock = 0;
  /** VMs of evicted sessions being destroyed. */
  private readonly evicting = new Set<Promise<void>>();

  constructor(options: SessionManagerOptions) {
    this.o = options;
  }

  get attached(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.vm) n++;
    return n;
  }

  /** Sessions that exist now (with a VM, or waiting for one). */
  get size(): number {
    return this.sessions.size;
  }

  /**
   * Makes room for a run of `sessionId`, synchronously so the HTTP edge can
   * answer 429 before it streams anything: an existing session always has
   * room; a new one may evict the least recently used idle session.
   * @throws CodeCellError `capacity_exceeded` when every one of MAX_SESSIONS sessions is busy
   */
  admit(sessionId: string): void {
    this.session(sessionId).lastUsed = ++this.clock;
  }

  /**
   * Runs `fn` with a VM: the session's own (attached on first use) or, without
   * a session, a fresh one destroyed afterwards.
   */
  async withVm<T>(opts: WithVmOptions, fn: (lease: RunLease) => Promise<T>): Promise<T> {
    if (!opts.sessionId) {
      const leave = await opts.admit?.();
      try {
        const vm = await this.acquire(opts.shape, opts.signal);
        try {
          return await fn({ vm, discard: () => undefined });
        } finally {
          await this.o.pool.release(vm);
        }
      } finally {
        leave?.();
      }
    }
    const session = this.session(opts.sessionId);
    session.active++;
    session.lastUsed = ++this.clock;
    clearTimeout(session.idleTimer);
    const previous = session.tail;
    let done: () => void = () => undefined;
    session.tail = new Promise((r) => (done = r));
    let leave: (() => void) | undefined;
    try {
      await previous;
      opts.signal?.throwIfAborted();
      // Only now, with this session's turn come, take a global slot: runs queued
      // behind their own session must not hold slots other sessions could use.
      leave = await opts.admit?.();
      let vm = session.vm;
      const usable = vm && !vm.agent.closed && vm.vm.shape.memMb === opts.shape.memMb && vm.vm.shape.vcpus === opts.shape.vcpus;
      if (!usable) {
        session.vm = undefined;
        if (vm) await this.o.pool.release(vm, { refill: false }); // shape changed or VM died: the workspace goes with it
        session.vm = vm = await this.acquire(opts.shape, opts.signal);
      }
      let discard = false;
      try {
        return await fn({ vm: vm as ReadyVm, discard: () => (discard = true) });
      } finally {
        if (discard || (vm as ReadyVm).agent.closed) {
          session.vm = undefined;
          await this.o.pool.release(vm as ReadyVm);
        }
      }
    } finally {
      leave?.();
      session.active--;
      session.lastUsed = ++this.clock;
      done();
      this.armIdleTimer(session);
    }
  }

  /**
   * Runs `fn` with the session's VM beside its runs (a terminal session): it
   * waits for the session's turn only when the session has no VM yet, to
   * attach one; while `fn` runs the session counts as busy, so it neither
   * idles out nor is evicted. A run that needs another VM shape replaces the
   * VM, which ends `fn`'s work on it (its agent channel closes).
   */
  async withSharedVm<T>(opts: Omit<WithVmOptions, 'admit'> & { readonly sessionId: string }, fn: (lease: RunLease) => Promise<T>): Promise<T> {
    const session = this.session(opts.sessionId);
    session.active++;
    session.lastUsed = ++this.clock;
    clearTimeout(session.idleTimer);
    try {
      let vm = session.vm;
      if (!vm || vm.agent.closed) {
        const previous = session.tail;
        let done: () => void = () => undefined;
        session.tail = new Promise((r) => (done = r));
        try {
          await previous;
          opts.signal?.throwIfAborted();
          vm = session.vm;
          if (!vm || vm.agent.closed) {
            session.vm = undefined;
            if (vm) await this.o.pool.release(vm, { refill: false });
            session.vm = vm = await this.acquire(opts.shape, opts.signal);
          }
        } finally {
          done();
        }
      }
      const leased = vm;
      try {
        return await fn({ vm: leased, discard: () => void this.forgetVm(session, leased) });
      } finally {
        if (leased.agent.closed) await this.forgetVm(session, leased);
      }
    } finally {
      session.active--;
      session.lastUsed = ++this.clock;
      this.armIdleTimer(session);
    }
  }

  /** Drops a session's VM that must not be used again (if it is still the session's). */
  private async forgetVm(session: Session, vm: ReadyVm): Promise<void> {
    if (session.vm !== vm) return;
    session.vm = undefined;
    await this.o.pool.release(vm);
  }

  /** Destroys every session's VM. */
  async dispose(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(
      all.map(async (s) => {
        clearTimeout(s.idleTimer);
        if (s.vm) await this.o.pool.release(s.vm);
      }),
    );
    await Promise.all([...this.evicting]);
  }

  /** A VM from the pool; when guest memory is full, evicts idle sessions (least recently used first) until it fits. */
  private async acquire(shape: VmShape, signal?: AbortSignal): Promise<ReadyVm> {
    for (;;) {
      try {
        return await this.o.pool.acquire(shape, signal);
      } catch (err) {
        if (!(err instanceof GuestMemoryFullError)) throw err;
        if (this.evicting.size > 0) await Promise.all([...this.evicting]);
        else if (!this.evictIdle({ withVm: true })) throw err;
        await Promise.all([...this.evicting]);
      }
    }
  }

  private session(id: string): Session {
    let s = this.sessions.get(id);
    if (!s) {
      const max = this.o.maxSessions ?? Infinity;
      if (this.sessions.size >= max && !this.evictIdle({ withVm: false })) {
        throw new CodeCellError(
          'capacity_exceeded',
          `all ${max} session VMs are busy running; retry when a run ends, or raise MAX_SESSIONS (each session keeps a VM for its room)`,
        );
      }
      s = { id, vm: undefined, tail: Promise.resolve(), idleTimer: undefined, active: 0, lastUsed: ++this.clock };
      this.sessions.set(id, s);
    }
    return s;
  }

  /** Evicts the least recently used session without runs (`withVm`: only one holding a VM). False when there is none. */
  private evictIdle(o: { withVm: boolean }): boolean {
    let lru: Session | undefined;
    for (const s of this.sessions.values()) {
      if (s.active > 0 || (o.withVm && !s.vm)) continue;
      if (!lru || s.lastUsed < lru.lastUsed) lru = s;
    }
    if (!lru) return false;
    this.drop(lru, { why: 'evicted (least recently used) to make room', refill: false });
    return true;
  }

  /** Forgets a session without runs and destroys its VM (`refill: false` when the memory is wanted by a run). */
  private drop(s: Session, o: { why: string; refill: boolean }): void {
    clearTimeout(s.idleTimer);
    this.sessions.delete(s.id);
    const vm = s.vm;
    if (!vm) return;
    s.vm = undefined;
    this.o.logger.info(`session ${o.why}; destroying its VM`, { sessionId: s.id, vmId: vm.vm.id });
    const p = this.o.pool.release(vm, { refill: o.refill }).finally(() => this.evicting.delete(p));
    this.evicting.add(p);
  }

  private armIdleTimer(s: Session): void {
    if (s.active > 0) return;
    clearTimeout(s.idleTimer);
    s.idleTimer = setTimeout(() => {
      if (s.active > 0 || this.sessions.get(s.id) !== s) return;
      this.drop(s, { why: 'idled out', refill: true });
    }, this.o.idleTimeoutMs);
    s.idleTimer.unref();
  }
}
