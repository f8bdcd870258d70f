/**
 * A fake VMM for unit tests: each "VM" is an in-memory byte stream to a fake
 * guest agent written in TypeScript. The agent can be told to misbehave
 * (ignore kills, flood output, send garbage) so the host's own enforcement is
 * tested without a real VM.
 * @module
 */
import { Duplex } from 'node:stream';
import { FrameType, execFrameSchema, signalFrameSchema } from '@codecell/protocol';
import { FrameDecoder, encodeDataFrame, encodeJsonFrame } from '../../src/agent/codec.js';
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

/**
 * What the fake guest does with a program, chosen by its source:
 * `print:<text>` prints and exits 0; `flood` prints forever and honours kills;
 * `flood-deaf` prints forever and ignores kills; `deaf` never exits and
 * ignores kills; `garbage` answers with a frame of an impossible length.
 */
class FakeAgent {
  private readonly decoder = new FrameDecoder(64 * 1024 * 1024);
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly io: Duplex) {
    io.on('data', (chunk: Buffer) => {
      for (const f of this.decoder.push(chunk)) if (f.kind === 'json') this.handle(f.type, JSON.parse(f.body.toString('utf8')) as unknown);
    });
    this.io.write(encodeJsonFrame(FrameType.ready, { version: 1, python: 'fake', uptimeMs: 1 }));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private handle(type: number, body: unknown): void {
    if (type === FrameType.ping) this.io.write(encodeJsonFrame(FrameType.pong, { version: 1, python: 'fake', uptimeMs: 1, seq: 0 }));
    if (type === FrameType.reseed) this.io.write(encodeJsonFrame(FrameType.ready, { version: 1, python: 'fake', uptimeMs: 1 }));
    if (type === FrameType.exec) this.exec(execFrameSchema.parse(body));
    if (type === FrameType.signal) {
      const { runId } = signalFrameSchema.parse(body);
      if (this.mode !== 'flood-deaf' && this.mode !== 'deaf') this.exit(runId, { code: null, signal: 'SIGKILL' });
    }
  }

  private mode = '';

  private exec(req: { runId: number; files: { path: string; contentB64: string }[] }): void {
    const source = Buffer.from(req.files[0]?.contentB64 ?? '', 'base64').toString('utf8');
    this.mode = source.split(':')[0] ?? '';
    const out = (text: string): void => void this.io.write(encodeDataFrame(FrameType.stdout, req.runId, Buffer.from(text)));
    switch (this.mode) {
      case 'print':
        out(source.slice('print:'.length));
        this.exit(req.runId, { code: 0, signal: null });
        return;
      case 'flood':
      case 'flood-deaf':
        this.timer = setInterval(() => out('x'.repeat(4096)), 1);
        return;
      case 'garbage':
        this.io.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 5]));
        return;
      default:
        return; // deaf: nothing, ever
    }
  }

  private exit(runId: number, o: { code: number | null; signal: string | null }): void {
    this.stop();
    this.io.write(encodeJsonFrame(FrameType.exit, { runId, ...o, cpuMs: 1, wallMs: 1, maxRssKb: 1, oomKilled: false, outputLimited: false }));
  }
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

  async init(): Promise<void> {}

  async boot(o: BootOptions): Promise<VmHandle> {
    if (this.failBoots > 0) {
      this.failBoots--;
      throw new Error('fake boot failure');
    }
    const vm = new FakeVm(`fake-${++this.n}`, o.shape, false);
    this.vms.push(vm);
    return vm;
  }

  async createTemplate(vm: VmHandle): Promise<VmTemplate> {
    await vm.destroy();
    return { id: `tpl-${vm.id}`, shape: vm.shape, dispose: async () => undefined };
  }

  async restore(o: RestoreOptions): Promise<VmHandle> {
    return this.boot({ shape: o.template.shape });
  }

  /** VMs not destroyed yet. */
  live(): FakeVm[] {
    return this.vms.filter((v) => !v.destroyed);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.vms.map((v) => v.destroy()));
  }
}
