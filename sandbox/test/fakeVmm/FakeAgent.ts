/**
 * A fake guest agent in TypeScript, on any byte stream: it speaks the agent
 * protocol (ready, ping/pong, reseed, prime, exec with one stage, signal) and
 * can be told to misbehave, so the host's own enforcement is tested without a
 * real VM. Used by FakeVmm and, over vsock, by the fake Firecracker.
 * @module
 */
import type { Duplex } from 'node:stream';
import { AGENT_PROTOCOL_VERSION, FrameType, execFrameSchema, primeFrameSchema, reseedFrameSchema, signalFrameSchema } from '@codecell/protocol';
import { FrameDecoder, encodeDataFrame, encodeJsonFrame } from '../../src/agent/codec.js';

/**
 * What the fake guest does with a program, chosen by its source:
 * `print:<text>` prints and exits 0; `flood` prints forever and honours kills;
 * `flood-deaf` prints forever and ignores kills; `deaf` never exits and
 * ignores kills; `garbage` answers with a frame of an impossible length.
 */
export class FakeAgent {
  private readonly decoder = new FrameDecoder(64 * 1024 * 1024);
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly io: Duplex) {
    io.on('data', (chunk: Buffer) => {
      for (const f of this.decoder.push(chunk)) if (f.kind === 'json') this.handle(f.type, JSON.parse(f.body.toString('utf8')) as unknown);
    });
    this.io.write(encodeJsonFrame(FrameType.ready, { version: AGENT_PROTOCOL_VERSION, python: 'fake', uptimeMs: 1 }));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private handle(type: number, body: unknown): void {
    if (type === FrameType.ping) this.io.write(encodeJsonFrame(FrameType.pong, { version: AGENT_PROTOCOL_VERSION, python: 'fake', uptimeMs: 1, seq: 0 }));
    if (type === FrameType.reseed || type === FrameType.prime) {
      const { seq } = (type === FrameType.reseed ? reseedFrameSchema : primeFrameSchema).parse(body);
      this.io.write(encodeJsonFrame(FrameType.ready, { version: AGENT_PROTOCOL_VERSION, python: 'fake', uptimeMs: 1, seq }));
    }
    if (type === FrameType.exec) this.exec(execFrameSchema.parse(body));
    if (type === FrameType.signal) {
      const { runId } = signalFrameSchema.parse(body);
      if (this.mode !== 'flood-deaf' && this.mode !== 'deaf') this.exit(runId, { code: null, signal: 'SIGKILL' });
    }
  }

  private mode = '';

  private exec(req: { runId: number; files: { path: string; contentB64: string }[] }): void {
    const source = Buffer.from(req.files[0]?.contentB64 ?? '', 'base64').toString('utf8');
    this.io.write(encodeJsonFrame(FrameType.stage, { runId: req.runId, name: 'run', warm: false }));
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
    this.io.write(encodeJsonFrame(FrameType.exit, { runId, stage: 'run', ...o, cpuMs: 1, wallMs: 1, maxRssKb: 1, oomKilled: false, outputLimited: false }));
  }
}
