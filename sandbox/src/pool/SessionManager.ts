/**
 * Sessions (rooms) attach one VM each and keep it, with its `/workspace`,
 * across their runs; runs of one session are serialised. A session's VM is
 * destroyed when the session idles out and is never handed to anyone else.
 * Runs without a session get a VM of their own, destroyed after the run.
 * @module
 */
import type { VmShape } from '../vmm/VmmDriver.js';
import type { Logger } from '@codecell/server-kit';
import type { ReadyVm, VmPool } from './VmPool.js';

interface Session {
  readonly id: string;
  vm: ReadyVm | undefined;
  /** Tail of the chain of this session's runs. */
  tail: Promise<void>;
  idleTimer: NodeJS.Timeout | undefined;
  active: number;
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

export class SessionManager {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly o: {
      pool: VmPool;
      /** Destroy a session's VM after this long without runs. */
      idleTimeoutMs: number;
      logger: Logger;
    },
  ) {}

  get attached(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.vm) n++;
    return n;
  }

  /**
   * Runs `fn` with a VM: the session's own (attached on first use) or, without
   * a session, a fresh one destroyed afterwards.
   */
  async withVm<T>(opts: WithVmOptions, fn: (lease: RunLease) => Promise<T>): Promise<T> {
    if (!opts.sessionId) {
      const leave = await opts.admit?.();
      try {
        const vm = await this.o.pool.acquire(opts.shape, opts.signal);
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
        if (vm) await this.o.pool.release(vm); // shape changed or VM died: the workspace goes with it
        session.vm = vm = await this.o.pool.acquire(opts.shape, opts.signal);
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
      done();
      this.armIdleTimer(session);
    }
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
  }

  private session(id: string): Session {
    let s = this.sessions.get(id);
    if (!s) {
      s = { id, vm: undefined, tail: Promise.resolve(), idleTimer: undefined, active: 0 };
      this.sessions.set(id, s);
    }
    return s;
  }

  private armIdleTimer(s: Session): void {
    if (s.active > 0) return;
    clearTimeout(s.idleTimer);
    s.idleTimer = setTimeout(() => {
      if (s.active > 0 || this.sessions.get(s.id) !== s) return;
      this.sessions.delete(s.id);
      if (s.vm) {
        this.o.logger.info('session idled out; destroying its VM', { sessionId: s.id, vmId: s.vm.vm.id });
        void this.o.pool.release(s.vm);
      }
    }, this.o.idleTimeoutMs);
    s.idleTimer.unref();
  }
}
