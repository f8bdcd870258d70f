import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameType } from '@codecell/protocol';
import { FrameDecoder, encodeDataFrame, encodeJsonFrame } from './codec.js';
import type { Frame } from './codec.js';

const MAX = 1024 * 1024;

function frameArb(): fc.Arbitrary<{ buf: Buffer; check: (f: Frame) => void }> {
  const data = fc.record({
    type: fc.constantFrom(FrameType.stdout, FrameType.stderr, FrameType.stdin),
    runId: fc.nat({ max: 0xffffffff }),
    bytes: fc.uint8Array({ maxLength: 300 }),
  }).map(({ type, runId, bytes }) => ({
    buf: encodeDataFrame(type, runId, bytes),
    check: (f: Frame) => {
      expect(f).toMatchObject({ kind: 'data', type, runId });
      expect(f.kind === 'data' && Buffer.compare(f.data, Buffer.from(bytes))).toBe(0);
    },
  }));
  const json = fc.record({
    type: fc.constantFrom(FrameType.ready, FrameType.exit, FrameType.pong, FrameType.error),
    body: fc.jsonValue(),
  }).map(({ type, body }) => ({
    buf: encodeJsonFrame(type, body),
    check: (f: Frame) => {
      expect(f.kind).toBe('json');
      expect(f.type).toBe(type);
      expect(f.kind === 'json' && JSON.parse(f.body.toString('utf8'))).toEqual(JSON.parse(JSON.stringify(body)));
    },
  }));
  return fc.oneof(data, json);
}

describe('FrameDecoder', () => {
  it('decodes any sequence of frames however the stream is split or merged (10,000 cases)', () => {
    fc.assert(
      fc.property(fc.array(frameArb(), { maxLength: 8 }), fc.array(fc.nat({ max: 64 }), { maxLength: 20 }), (frames, cuts) => {
        const stream = Buffer.concat(frames.map((f) => f.buf));
        const dec = new FrameDecoder(MAX);
        const out: Frame[] = [];
        let at = 0;
        for (const c of cuts) {
          out.push(...dec.push(stream.subarray(at, at + c)));
          at = Math.min(stream.length, at + c);
        }
        out.push(...dec.push(stream.subarray(at)));
        expect(out.length).toBe(frames.length);
        frames.forEach((f, i) => f.check(out[i] as Frame));
        expect(dec.pendingBytes).toBe(0);
      }),
      { numRuns: 10_000 },
    );
  });

  it('decodes byte by byte', () => {
    const stream = Buffer.concat([encodeJsonFrame(FrameType.ready, { a: 1 }), encodeDataFrame(FrameType.stdout, 7, Buffer.from('hi'))]);
    const dec = new FrameDecoder(MAX);
    const out: Frame[] = [];
    for (const b of stream) out.push(...dec.push(Buffer.from([b])));
    expect(out.map((f) => f.type)).toEqual([FrameType.ready, FrameType.stdout]);
  });

  it('rejects a frame longer than the limit before buffering it', () => {
    const dec = new FrameDecoder(100);
    const head = Buffer.alloc(5);
    head.writeUInt32BE(101, 0);
    expect(() => dec.push(head)).toThrow(/frame of 101 bytes/);
  });

  it('rejects an empty frame and a data frame without a run id', () => {
    expect(() => new FrameDecoder(MAX).push(Buffer.from([0, 0, 0, 0, 1]))).toThrow();
    expect(() => new FrameDecoder(MAX).push(Buffer.from([0, 0, 0, 1, FrameType.stdout]))).toThrow(/run id/);
  });

  it('never throws anything but a protocol error on random bytes (fuzz, 10,000 cases)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const dec = new FrameDecoder(64);
        try {
          dec.push(Buffer.from(bytes));
        } catch (err) {
          expect((err as { code?: string }).code).toBe('vm_crashed');
        }
      }),
      { numRuns: 10_000 },
    );
  });
});
