/**
 * Files of any bytes (issue 11): how file content travels as a JSON string
 * (`utf8` text, or `base64` for anything else), the caps a room applies to
 * binary files, and the encode/decode helpers both sides use so bytes survive
 * byte for byte. Pure: no node:*, no DOM (works with `Uint8Array`).
 * @module
 */
import { z } from 'zod';

/** How a file's `content` string holds its bytes: `utf8` (the text itself) or `base64` (any bytes). */
export const FILE_ENCODINGS = ['utf8', 'base64'] as const;
export const fileEncodingSchema = z.enum(FILE_ENCODINGS);
export type FileEncoding = z.infer<typeof fileEncodingSchema>;

/** Default MAX_FILE_BYTES: the largest binary file a room holds (text files are bounded by MAX_ROOM_BYTES). */
export const DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024;

/** Bytes for people: `1.5 MiB`, `12.0 KiB`, `300 bytes` (the form error messages use). */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** True when `s` is canonical-alphabet base64 with padding (what `Buffer#toString('base64')` and {@link bytesToBase64} write). */
export function isBase64(s: string): boolean {
  return s.length % 4 === 0 && BASE64.test(s);
}

/** Bytes a base64 string decodes to (without decoding it). */
export function base64ByteLength(s: string): number {
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  return (s.length / 4) * 3 - pad;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

/** Encodes bytes as padded base64 (the same string `Buffer.from(bytes).toString('base64')` gives). */
export function bytesToBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  // Built in slices: one string per byte would be slow for megabytes.
  for (let start = 0; start < bytes.length; start += 3 * 4096) {
    const end = Math.min(bytes.length, start + 3 * 4096);
    let out = '';
    for (let i = start; i < end; i += 3) {
      const a = bytes[i]!;
      const b = i + 1 < end ? bytes[i + 1]! : 0;
      const c = i + 2 < end ? bytes[i + 2]! : 0;
      out += B64[a >> 2]! + B64[((a & 3) << 4) | (b >> 4)]!;
      out += i + 1 < end ? B64[((b & 15) << 2) | (c >> 6)]! : '=';
      out += i + 2 < end ? B64[c & 63]! : '=';
    }
    parts.push(out);
  }
  return parts.join('');
}

/**
 * Decodes padded base64 into bytes.
 * @throws Error when `s` is not base64 ({@link isBase64})
 */
export function base64ToBytes(s: string): Uint8Array {
  if (!isBase64(s)) throw new Error('not base64: use A-Z a-z 0-9 + / with = padding to a multiple of 4 characters');
  const out = new Uint8Array(base64ByteLength(s));
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const n = (B64_INDEX.get(s[i]!)! << 18) | (B64_INDEX.get(s[i + 1]!)! << 12) | ((B64_INDEX.get(s[i + 2]!) ?? 0) << 6) | (B64_INDEX.get(s[i + 3]!) ?? 0);
    out[o++] = n >> 16;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

/**
 * The text of `bytes` when they are well-formed UTF-8 without NUL (what a room
 * keeps as an editable `Y.Text`; encoding it again gives the same bytes), else
 * null (kept as binary). A BOM is kept as U+FEFF.
 */
export function textOf(bytes: Uint8Array): string | null {
  const parts: string[] = [];
  let codes: number[] = [];
  for (let i = 0; i < bytes.length; ) {
    const cp = codePointAt(bytes, i);
    if (cp === null || cp.value === 0) return null;
    codes.push(cp.value);
    i += cp.length;
    if (codes.length >= 8192) {
      parts.push(String.fromCodePoint(...codes));
      codes = [];
    }
  }
  parts.push(String.fromCodePoint(...codes));
  return parts.join('');
}

/** The code point of the well-formed UTF-8 sequence at `i` (shortest form, no surrogates, at most U+10FFFF), or null. */
function codePointAt(b: Uint8Array, i: number): { value: number; length: number } | null {
  const a = b[i]!;
  if (a < 0x80) return { value: a, length: 1 };
  const length = a >= 0xc2 && a <= 0xdf ? 2 : a >= 0xe0 && a <= 0xef ? 3 : a >= 0xf0 && a <= 0xf4 ? 4 : 0;
  if (length === 0 || i + length > b.length) return null;
  let value = a & (length === 2 ? 0x1f : length === 3 ? 0x0f : 0x07);
  for (let k = 1; k < length; k++) {
    const c = b[i + k]!;
    if ((c & 0xc0) !== 0x80) return null;
    value = (value << 6) | (c & 0x3f);
  }
  const min = length === 2 ? 0x80 : length === 3 ? 0x800 : 0x10000;
  if (value < min || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) return null;
  return { value, length };
}
