/**
 * The host's end of an agent channel whose guest side a unit test writes by
 * hand: `sent` collects the frames the host wrote (JSON bodies parsed, data
 * frames with their runId and bytes).
 * @module
 */
import { Duplex } from 'node:stream';
import { FrameDecoder, encodeDataFrame, encodeJsonFrame } from '../src/agent/codec.js';

/** A frame the host sent. */
export interface SentFrame {
  readonly type: number;
  readonly body: unknown;
  /** Data frames: the run they belong to and their bytes. */
  readonly runId?: number;
  readonly data?: Buffer;
}

export interface FakeChannel {
  readonly host: Duplex;
  /** Sends a JSON frame from the guest to the host. */
  readonly toHost: (type: number, body: unknown) => void;
  /** Sends a data frame from the guest to the host. */
  readonly dataToHost: (type: number, runId: number, data: string) => void;
  readonly sent: SentFrame[];
}

export function fakeChannel(): FakeChannel {
  const sent: SentFrame[] = [];
  const decoder = new FrameDecoder(1 << 20);
  const host = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, done) {
      for (const f of decoder.push(chunk)) {
        sent.push(f.kind === 'json' ? { type: f.type, body: JSON.parse(f.body.toString('utf8')) } : { type: f.type, body: null, runId: f.runId, data: f.data });
      }
      done();
    },
  });
  return {
    host,
    sent,
    toHost: (type, body) => host.push(encodeJsonFrame(type, body)),
    dataToHost: (type, runId, data) => host.push(encodeDataFrame(type, runId, Buffer.from(data))),
  };
}
