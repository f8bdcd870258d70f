/**
 * `ws /collab`: the WebSocket adapter of {@link CollabService} (plain `ws` in
 * noServer mode). Accepts upgrades of exactly `/collab` (the HTTP server has
 * checked Host and Origin), authenticates the caller before completing the
 * upgrade, and hands each socket to Hocuspocus with the caller as its context;
 * rooms are chosen inside the Hocuspocus protocol (document name = roomId),
 * several per socket, each checked by CollabAccess.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { COLLAB_PATH, StreamCloseCode } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { Caller } from '../auth/Caller.js';
import { refuseUpgrade } from '../http/refuseUpgrade.js';
import type { CollabConnection, CollabService } from './CollabService.js';

/** After asking a socket to close at shutdown, how long it may take before it is dropped. */
export const COLLAB_CLOSE_GRACE_MS = 2_000;

/** Options of {@link CollabServer}. */
export interface CollabServerOptions {
  readonly collab: CollabService;
  readonly logger: Logger;
  /**
   * Largest WebSocket message, bytes. Beyond it `ws` closes the socket (1009)
   * before Hocuspocus sees the message; smaller oversized updates get the clear
   * MAX_ROOM_BYTES refusal instead.
   */
  readonly maxPayloadBytes: number;
  /** Who the upgrade request is (session cookie, token). */
  readonly authenticate: (req: IncomingMessage) => Promise<Caller>;
}

/** Serves `/collab` upgrades handed to it by the HTTP server. */
export class CollabServer {
  readonly #o: CollabServerOptions;
  readonly #wss: WebSocketServer;
  readonly #sockets = new Set<WebSocket>();
  #closed = false;

  constructor(options: CollabServerOptions) {
    this.#o = options;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes, clientTracking: false });
  }

  /** Open collab sockets. */
  get connectionCount(): number {
    return this.#sockets.size;
  }

  /** Completes the upgrade of `/collab` once the caller is known; other `/collab/...` paths are refused. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== COLLAB_PATH && url.pathname !== `${COLLAB_PATH}/`) return refuseUpgrade(socket, 404, 'not found; the collab endpoint is /collab');
    if (this.#closed) return refuseUpgrade(socket, 503, 'the gateway is shutting down');
    // The client sends nothing before the 101, so nothing is lost while we look the caller up.
    this.#o.authenticate(req).then(
      (caller) => {
        if (this.#closed || socket.destroyed) return refuseUpgrade(socket, 503, 'the gateway is shutting down');
        this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, req, caller));
      },
      (err: unknown) => {
        this.#o.logger.error('collab authentication failed', { error: String(err) });
        refuseUpgrade(socket, 503, 'could not check who you are; try again');
      },
    );
  }

  /** Closes every socket (4503) and waits for them to go. Safe to call twice. */
  async dispose(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      [...this.#sockets].map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            const timer = setTimeout(() => ws.terminate(), COLLAB_CLOSE_GRACE_MS);
            ws.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            ws.close(StreamCloseCode.shuttingDown, 'the gateway is shutting down');
          }),
      ),
    );
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #onConnection(ws: WebSocket, req: IncomingMessage, caller: Caller): void {
    this.#sockets.add(ws);
    const request = new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? COLLAB_PATH}`, { headers: toHeaders(req) });
    let client: CollabConnection;
    try {
      client = this.#o.collab.handleConnection(ws, request, { caller });
    } catch (err) {
      this.#o.logger.error('collab connection failed', { error: String(err) });
      ws.close(1011, 'internal error');
      return;
    }
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      // The Hocuspocus protocol is binary; text frames are not ours.
      if (!isBinary) return void ws.close(1003, 'binary Hocuspocus messages only');
      client.handleMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    ws.on('error', (err) => this.#o.logger.debug('collab socket error', { error: err.message }));
    ws.on('close', (code, reason) => {
      this.#sockets.delete(ws);
      client.handleClose({ code, reason: reason.toString('utf8') });
    });
  }
}

function toHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers.set(name, value);
    else if (Array.isArray(value)) for (const v of value) headers.append(name, v);
  }
  return headers;
}
