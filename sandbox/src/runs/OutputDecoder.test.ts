import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OutputDecoder } from './OutputDecoder.js';
import type { DecodedChunk } from './OutputDecoder.js';

const bytesOf = (c: DecodedChunk): Buffer => (c.bytesB64 === undefined ? Buffer.from(c.data, 'utf8') : Buffer.from(c.bytesB64, 'base64'));

function decodeAll(pieces: Buffer[]): DecodedChunk[] {
  const d = new OutputDecoder();
  const out = pieces.map((p) => d.write(p));
  out.push(d.end());
  return out.filter((c): c is DecodedChunk => c !== null);
}

describe('OutputDecoder (issue 13: non-UTF-8 output round-trips)', () => {
  it('keeps a character split across writes whole, with no bytesB64', () => {
    const euro = Buffer.from('€', 'utf8');
    const chunks = decodeAll([euro.subarray(0, 1), euro.subarray(1, 2), euro.subarray(2)]);
    expect(chunks).toEqual([{ data: '€' }]);
  });

  it('carries invalid bytes as base64 next to the lossy text', () => {
    const chunks = decodeAll([Buffer.from([0x61, 0xff, 0xfe, 0x62])]);
    expect(chunks).toEqual([{ data: 'a\uFFFD\uFFFDb', bytesB64: Buffer.from([0x61, 0xff, 0xfe, 0x62]).toString('base64') }]);
  });

  it('an incomplete sequence at the end of the stream comes back from end()', () => {
    const chunks = decodeAll([Buffer.from([0x41, 0xe2, 0x82])]);
    expect(Buffer.concat(chunks.map(bytesOf))).toEqual(Buffer.from([0x41, 0xe2, 0x82]));
  });

  it('any bytes, split anywhere, come back exactly (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.nat(64), { maxLength: 6 }), (bytes, cuts) => {
        const buf = Buffer.from(bytes);
        const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
        const pieces: Buffer[] = [];
        let at = 0;
        for (const p of [...points, buf.length]) {
          pieces.push(buf.subarray(at, p));
          at = p;
        }
        const chunks = decodeAll(pieces);
        expect(Buffer.concat(chunks.map(bytesOf))).toEqual(buf);
        for (const c of chunks) expect(c.data).toBe(bytesOf(c).toString('utf8'));
      }),
    );
  });
});
