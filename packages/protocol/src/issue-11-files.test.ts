/**
 * Issue 11: files of any bytes. Base64 and text detection round trip every
 * byte value exactly; the file event and the encoded workspace file parse
 * only in their documented shapes.
 */
import { describe, expect, it } from 'vitest';
import {
  base64ByteLength,
  base64ToBytes,
  bytesToBase64,
  fileEventSchema,
  isBase64,
  roomRunRecordSchema,
  runEventSchema,
  runRequestSchema,
  textOf,
  workspaceFileSchema,
} from './index.js';

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);
/** Pseudo-random bytes (this package has no node:crypto). */
const randomBytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(Math.random() * 256));
const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
/** UTF-8 of a string, by way of URI escaping (this package has no TextEncoder). */
const utf8 = (s: string): Uint8Array => Uint8Array.from(unescape(encodeURIComponent(s)), (c) => c.charCodeAt(0));

describe('issue 11: base64', () => {
  it('round trips all 256 byte values and random buffers of every length mod 3', () => {
    for (const bytes of [ALL_BYTES, new Uint8Array(0), ...[1, 2, 3, 4, 5, 65_537].map((n) => randomBytes(n))]) {
      const b64 = bytesToBase64(bytes);
      expect(isBase64(b64)).toBe(true);
      expect(base64ByteLength(b64)).toBe(bytes.length);
      expect(same(base64ToBytes(b64), bytes)).toBe(true);
    }
  });

  it('writes the standard alphabet and padding (RFC 4648 test vectors)', () => {
    const vectors: Array<[string, string]> = [['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foob', 'Zm9vYg=='], ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy']];
    for (const [plain, b64] of vectors) expect(bytesToBase64(utf8(plain))).toBe(b64);
    expect(bytesToBase64(Uint8Array.of(0xfb, 0xff, 0xfe))).toBe('+//+');
  });

  it('refuses what is not padded canonical base64', () => {
    for (const bad of ['a', 'abc', 'ab=c', 'ab-_', 'abcd\n', '====', 'a===']) expect(isBase64(bad), bad).toBe(false);
    expect(() => base64ToBytes('abc')).toThrow(/not base64/);
  });
});

describe('issue 11: text or binary', () => {
  it('keeps UTF-8 without NUL as text (re-encoding gives the same bytes) and everything else as binary', () => {
    for (const s of ['', 'hello', 'ünïcødé ✓ 𝄞', '\uFEFFbom', 'a,b\n1,2\n']) {
      const bytes = utf8(s);
      const text = textOf(bytes);
      expect(text).toBe(s);
      expect(same(utf8(text ?? ''), bytes)).toBe(true);
    }
    const binaries = [ALL_BYTES, Uint8Array.of(0x61, 0), Uint8Array.of(0xc0, 0x80), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0xe2, 0x82), Uint8Array.of(0xf4, 0x90, 0x80, 0x80), Uint8Array.of(0x89, 0x50, 0x4e, 0x47)];
    for (const b of binaries) expect(textOf(b), b.join(',')).toBeNull();
  });
});

describe('issue 11: wire shapes', () => {
  it('parses a file event and refuses one without its fields or with a path outside /workspace', () => {
    const ok = { type: 'file', path: 'out/plot.png', size: 3, encoding: 'base64', content: 'AAEC', truncated: false } as const;
    expect(runEventSchema.parse(ok)).toEqual(ok);
    expect(fileEventSchema.parse({ ...ok, content: '', truncated: true, size: 1e9 }).truncated).toBe(true);
    for (const bad of [{ ...ok, path: '../x' }, { ...ok, encoding: 'hex' }, { ...ok, size: -1 }, { ...ok, truncated: undefined }, { ...ok, extra: 1 }]) {
      expect(fileEventSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('takes files with encoding base64 (validated) or utf8 (the default) in POST /run', () => {
    const files = [
      { path: 'data.bin', content: bytesToBase64(ALL_BYTES), encoding: 'base64' },
      { path: 'notes.txt', content: 'text' },
      { path: 'more.txt', content: 'text', encoding: 'utf8' },
    ];
    expect(runRequestSchema.parse({ language: 'py', source: '', files }).files).toEqual(files);
    const bad = workspaceFileSchema.safeParse({ path: 'x.bin', content: 'not base64!', encoding: 'base64' });
    expect(bad.error?.issues[0]?.message).toMatch(/not base64/);
  });

  it('keeps run records of before issue 11 valid and lists what became of each file', () => {
    const base = { jobId: 'j', startedBy: null, startedAt: 1, status: 'ok', endedAt: 2, wallMs: 1, exitCode: 0 };
    expect(roomRunRecordSchema.parse(base)).toEqual(base);
    const files = [{ path: 'plot.png', size: 10, status: 'written', message: null }];
    expect(roomRunRecordSchema.parse({ ...base, files }).files).toEqual(files);
    expect(roomRunRecordSchema.safeParse({ ...base, files: [{ ...files[0], status: 'lost' }] }).success).toBe(false);
  });
});
