/**
 * Every page's `ws /stream` socket (issue 12): accepts the upgrades the
 * StreamServer routes here, pings them, ends the watches of a room whose
 * access was revoked, and closes them all at shutdown.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { ERROR_CODES } from '@codecell/protocol';
import type { ErrorCode } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import { PageConnection } from './PageConnection.js';
import type { PageSession } from './PageConnection.js';

interface PageEntry {
  readonly ws: WebSocket;
  readonly page: PageConnection;
  graceTimer: NodeJS.Timeout | null;
}

/** Options of {@link PageSockets}. */
export interface PageSocketsOptions {
  /** The socket's operations as the upgrade's caller. */
  readonly session: (req: IncomingMessage) => Promise<PageSession>;
  readonly logger: Logger;
  /** STREAM_MAX_BUFFERED_BYTES */
  readonly maxBufferedBytes: number;
  /** Largest message a page may send (a `run` carries the room's files). */
  readonly maxMessageBytes: number;
  readonly closeGraceMs: number;
}

export class PageSockets {
  readonly #o: PageSocketsOptions;
  readonly #wss: WebSocketServer;
  readonly #pages = new Set<PageEntry>();

  constructor(options: PageSocketsOptions) {
    this.#o = options;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes, perMessageDeflate: false, clientTracking: false });
  }

  get size(): number {
    return this.#pages.size;
  }

  get bufferedBytes(): number {
    let total = 0;
    for (const p of this.#pages) total += p.page.bufferedBytes;
    return total;
  }

  /** Completes an upgrade of `/stream`; `refusal` closes it at once (shutting down, too many sockets). */
  handleUpgrade(upgrade: { req: IncomingMessage; socket: Duplex; head: Buffer }, refusal: () => { code: number; reason: string } | null): void {
    const { req, socket, head } = upgrade;
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const session = this.#o.session(req);
      session.catch(() => undefined); // the connection reports a refusal itself
      const entry: PageEntry = {
        ws,
        graceTimer: null,
        page: new PageConnection({ ws, socket, session, logger: this.#o.logger, maxBufferedBytes: this.#o.maxBufferedBytes, close: (code, reason) => this.#close(entry, code, reason) }),
      };
      this.#pages.add(entry);
      ws.on('pong', () => (entry.page.alive = true));
      ws.on('error', (err) => this.#o.logger.debug('page socket error', { error: err.message }));
      ws.on('close', () => {
        entry.page.dispose();
        if (entry.graceTimer) clearTimeout(entry.graceTimer);
        this.#pages.delete(entry);
      });
      const refused = refusal();
      if (refused) this.#close(entry, refused.code, refused.reason);
    });
  }

  /** Ends the watches of `roomId` on the sockets of `userIds` (everyone when null); the sockets stay open. */
  revoke(o: { roomId: string; userIds: ReadonlySet<string> | null; reason: string }): void {
    // The reason reads "<code>: <message>" (A5).
    const code = ERROR_CODES.find((c) => o.reason.startsWith(`${c}:`)) ?? ('forbidden' satisfies ErrorCode);
    for (const p of this.#pages) {
      const userId = p.page.userId;
      if (o.userIds !== null && (userId === null || !o.userIds.has(userId))) continue;
      p.page.revoke(o.roomId, code, o.reason);
    }
  }

  /** Pings every socket; one that did not answer the previous ping is dropped. */
  ping(): void {
    for (const p of this.#pages) {
      if (p.graceTimer) continue;
      if (!p.page.alive) {
        p.ws.terminate();
        continue;
      }
      p.page.alive = false;
      if (p.ws.readyState === WebSocket.OPEN) p.ws.ping();
    }
  }

  /** Closes every socket with `code` and waits for them to go. */
  async dispose(code: number, reason: string): Promise<void> {
    await Promise.all(
      [...this.#pages].map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.ws.readyState === WebSocket.CLOSED) return resolve();
            p.ws.once('close', () => resolve());
            this.#close(p, code, reason);
          }),
      ),
    );
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #close(entry: PageEntry, code: number, reason: string): void {
    entry.page.dispose();
    if (entry.ws.readyState === WebSocket.CLOSED || entry.graceTimer) return;
    // A close reason is at most 123 bytes.
    entry.ws.close(code, Buffer.from(reason).subarray(0, 123).toString('utf8').replace(/\uFFFD$/, ''));
    entry.graceTimer = setTimeout(() => entry.ws.terminate(), this.#o.closeGraceMs);
  }
}
