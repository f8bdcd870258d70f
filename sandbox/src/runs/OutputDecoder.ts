/**
 * Decodes one output stream of a run into UTF-8 text chunks that keep the
 * exact bytes: a multi-byte character split across writes is held until it
 * is complete, and a chunk whose bytes are not valid UTF-8 (its text then has
 * U+FFFD in their place) also carries them as base64 (`bytesB64`), so API
 * clients that ask for base64 (Judge0) get the program's output byte for byte.
 * @module
 */

/** One decoded piece of output. */
export interface DecodedChunk {
  readonly data: string;
  /** The chunk's bytes, only when `data` does not encode back to them. */
  readonly bytesB64?: string;
}

/** Where the last complete UTF-8 sequence of `buf` ends (an incomplete tail of at most 3 bytes is held back). */
function completeLength(buf: Buffer): number {
  const n = buf.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = buf[n - back] ?? 0;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: look further back
    const need = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xc2 && b <= 0xdf ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

/** Stateful decoder of one stream (stdout or stderr). */
export class OutputDecoder {
  #held: Buffer = Buffer.alloc(0);

  /** Decodes `chunk`; null when everything is held back (a character split mid-way). */
  write(chunk: Buffer): DecodedChunk | null {
    const buf = this.#held.length > 0 ? Buffer.concat([this.#held, chunk]) : chunk;
    const cut = completeLength(buf);
    this.#held = Buffer.from(buf.subarray(cut));
    return cut === 0 ? null : decode(buf.subarray(0, cut));
  }

  /** What is still held (an incomplete sequence at the end of the stream), or null. */
  end(): DecodedChunk | null {
    const rest = this.#held;
    this.#held = Buffer.alloc(0);
    return rest.length === 0 ? null : decode(rest);
  }
}

function decode(bytes: Buffer): DecodedChunk {
  const data = bytes.toString('utf8');
  return Buffer.from(data, 'utf8').equals(bytes) ? { data } : { data, bytesB64: bytes.toString('base64') };
}
