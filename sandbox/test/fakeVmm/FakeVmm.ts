/**
 * A fake VMM for unit tests: each "VM" is an in-memory byte stream to a fake
 * guest agent written in TypeScript. The agent can be told to misbehave
 * (ignore kills, flood output, send garbage) so the host's own enforcement is
 * tested without a real VM.
 * @module
 */
import { Duplex } from 'node:stream';
import { FakeAgent } from './FakeAgent.js';
import type { BootOptions, RestoreOptions, VmExit, VmHandle, VmmDriver, VmShape, VmTemplate } from '../../src/vmm/VmmDriver.js';

/** Two connected in-memory duplex streams. */
function duplexPair(): [Duplex, Duplex] {
  const ends: { a?: Duplex; b?: Duplex } = {};
  const make = (peer: () => Duplex | undefined): Duplex =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        peer()?.push(chunk);
        cb();
      },
      final(cb) {
        peer()?.push(null);
        cb();
      },
    });
  const a = make(() => ends.b);
  const b = make(() => ends.a);
  ends.a = a;
  ends.b = b;
  return [a, b];
}

class FakeVm implements VmHandle {
  readonly pid = undefined;
  readonly exited: Promise<VmExit>;
  readonly channel: Duplex;
  private resolveExit!: (e: VmExit) => void;
  private readonly agent: FakeAgent;
  destroyed = false;

  constructor(
    readonly id: string,
    readonly shape: VmShape,
    readonly restored: boolean,
  ) {
    const [host, guest] = duplexPair();
    this.channel = host;
    this.agent = new FakeAgent(guest);
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    this.agent.stop();
    this.channel.destroy();
    this.resolveExit({ code: null, signal: 'SIGKILL' });
  }
}

/** The fake driver; `failBoots` makes the next N boots fail. */
export class FakeVmm implements VmmDriver {
  readonly name = 'fake' as const;
  readonly acceleration = 'none' as const;
  readonly supportsSnapshots = true;
  readonly vms: FakeVm[] = [];
  failBoots = 0;
  private n = 0;
  private disposed = false;

  async init(): Promise<void> {}

  async boot(o: BootOptions): Promise<VmHandle> {
    return this.start(o.shape, false);
  }

  private async start(shape: VmShape, restored: boolean): Promise<VmHandle> {
    if (this.disposed) throw new Error('the fake VMM is disposed');
    if (this.failBoots > 0) {
      this.failBoots--;
      throw new Error('fake boot failure');
    }
    const vm = new FakeVm(`fake-${++this.n}`, shape, restored);
    this.vms.push(vm);
    return vm;
  }

  async createTemplate(vm: VmHandle): Promise<VmTemplate> {
    await vm.destroy();
    return { id: `tpl-${vm.id}`, shape: vm.shape, dispose: async () => undefined };
  }

  async restore(o: RestoreOptions): Promise<VmHandle> {
    return this.start(o.template.shape, true);
  }

  /** VMs not destroyed yet. */
  live(): FakeVm[] {
    return this.vms.filter((v) => !v.destroyed);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await Promise.all(this.vms.map((v) => v.destroy()));
  }
}
