/**
 * A WebSocket client that can truly stop reading (unlike `ws`, whose client
 * resumes its socket by itself), to test slow consumers. It does the handshake
 * by hand and parses server frames only when asked to.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { Socket } from 'node:net';

/** A connected raw client. */
export interface RawWsClient {
  readonly socket: Socket;
  /** Stops reading from the kernel: the server's sends pile up. */
  stall(): void;
  /** Reads everything until the server closes; returns text frames and the close code. */
  drain(timeoutMs?: number): Promise<{ texts: string[]; closeCode: number | null }>;
  destroy(): void;
}

/** Opens `ws://host:port<path>`; resolves after the 101 response. */
export function connectRaw(baseUrl: string, path: string): Promise<RawWsClient> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const head = buf.subarray(0, end).toString('latin1');
      if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`no upgrade: ${head.split('\r\n')[0] ?? ''}`));
      socket.pause();
      socket.unshift(buf.subarray(end + 4));
      resolve(makeClient(socket));
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  });
}

function makeClient(socket: Socket): RawWsClient {
  socket.on('error', () => undefined);
  return {
    socket,
    stall: () => socket.pause(),
    destroy: () => socket.destroy(),
    drain: (timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const parser = new FrameParser();
        const timer = setTimeout(() => reject(new Error('raw ws client: no close within the timeout')), timeoutMs);
        const finish = (): void => {
          clearTimeout(timer);
          socket.destroy();
          resolve({ texts: parser.texts, closeCode: parser.closeCode });
        };
        socket.on('data', (c: Buffer) => {
          parser.push(c);
          // Stop at the close frame rather than wait for the server's close timeout.
          if (parser.closeCode !== null) finish();
        });
        socket.once('close', finish);
        socket.resume();
      }),
  };
}

/** Parses server frames as bytes arrive (a long replay arrives in many chunks). */
class FrameParser {
  readonly texts: string[] = [];
  closeCode: number | null = null;
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const { texts, closeCode, consumed } = parseFramesFrom(this.#pending);
    this.texts.push(...texts);
    if (closeCode !== null) this.closeCode = closeCode;
    this.#pending = this.#pending.subarray(consumed);
  }
}

/** Parses unmasked server frames (no fragmentation: the gateway sends whole messages). */
export function parseFrames(data: Buffer): { texts: string[]; closeCode: number | null } {
  const { texts, closeCode } = parseFramesFrom(data);
  return { texts, closeCode };
}

function parseFramesFrom(data: Buffer): { texts: string[]; closeCode: number | null; consumed: number } {
  const texts: string[] = [];
  let closeCode: number | null = null;
  let at = 0;
  while (at + 2 <= data.length) {
    const opcode = (data[at] ?? 0) & 0x0f;
    let len = (data[at + 1] ?? 0) & 0x7f;
    let off = at + 2;
    if (len === 126) {
      if (off + 2 > data.length) break;
      len = data.readUInt16BE(off);
      off += 2;
    } else if (len === 127) {
      if (off + 8 > data.length) break;
      len = Number(data.readBigUInt64BE(off));
      off += 8;
    }
    if (off + len > data.length) break;
    const payload = data.subarray(off, off + len);
    if (opcode === 0x1) texts.push(payload.toString('utf8'));
    if (opcode === 0x8 && len >= 2) closeCode = payload.readUInt16BE(0);
    at = off + len;
  }
  return { texts, closeCode, consumed: at };
}
