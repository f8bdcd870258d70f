/**
 * Host side of the agent frame format (guest/SPEC.md §1): `u32 BE length` ·
 * `u8 type` · body, where length counts the type byte and the body.
 * @module
 */
import { CodeCellError, DATA_FRAME_TYPES } from '@codecell/protocol';

/** A decoded frame. `runId` and `data` are set for data frames, `json` otherwise. */
export type Frame =
  | { readonly kind: 'data'; readonly type: number; readonly runId: number; readonly data: Buffer }
  | { readonly kind: 'json'; readonly type: number; readonly body: Buffer };

const HEADER_BYTES = 5;

/** Encodes a control frame with a JSON body. */
export function encodeJsonFrame(type: number, body: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  const out = Buffer.allocUnsafe(HEADER_BYTES + json.length);
  out.writeUInt32BE(json.length + 1, 0);
  out.writeUInt8(type, 4);
  json.copy(out, HEADER_BYTES);
  return out;
}

/** Encodes a data frame (`u32 runId` + bytes). */
export function encodeDataFrame(type: number, runId: number, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + 4 + data.length);
  out.writeUInt32BE(data.length + 5, 0);
  out.writeUInt8(type, 4);
  out.writeUInt32BE(runId, 5);
  out.set(data, 9);
  return out;
}

/**
 * Incremental decoder: feed it chunks as they arrive (split or merged in any
 * way) and it returns every complete frame. A frame longer than
 * `maxFrameBytes`, or a data frame too short for its runId, is a protocol
 * error: the stream cannot be trusted after it.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Appends a chunk and returns the frames it completed. */
  push(chunk: Buffer): Frame[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    while (this.buffered >= HEADER_BYTES) {
      const head = this.peek(HEADER_BYTES);
      const length = head.readUInt32BE(0);
      if (length < 1 || length > this.maxFrameBytes) {
        throw new CodeCellError('vm_crashed', `guest agent sent a frame of ${length} bytes (limit ${this.maxFrameBytes})`);
      }
      if (this.buffered < 4 + length) break;
      const frame = this.take(4 + length);
      const type = frame.readUInt8(4);
      if (DATA_FRAME_TYPES.has(type)) {
        if (length < 5) throw new CodeCellError('vm_crashed', `guest agent sent a data frame without a run id`);
        frames.push({ kind: 'data', type, runId: frame.readUInt32BE(5), data: frame.subarray(9) });
      } else {
        frames.push({ kind: 'json', type, body: frame.subarray(5) });
      }
    }
    return frames;
  }

  /** Bytes received but not yet part of a complete frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) return first.subarray(0, n);
    return Buffer.concat(this.chunks).subarray(0, n);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return first.subarray(0, n);
    }
    const all = Buffer.concat(this.chunks);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered -= n;
    return all.subarray(0, n);
  }
}
