/**
 * Refusing a WebSocket upgrade with a plain HTTP answer (before any WebSocket
 * exists), for the Host, Origin and per-address checks and unknown paths.
 * @module
 */
import type { Duplex } from 'node:stream';

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' };

/** Writes `HTTP/1.1 <status>` with `message` as a text body and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
