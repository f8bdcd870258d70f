/**
 * `ws /stream/<jobId>`: live run output over plain `ws` (noServer mode). Each
 * socket gets `hello`, the replay, then live messages up to `end`, and is closed
 * with 1000. A socket whose unsent bytes exceed the cap is closed with 4429 while
 * the run goes on for everyone else; an unknown or expired job gets 4404.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { StreamCloseCode, jobIdSchema } from '@codecell/protocol';
import type { StreamMessage } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { RunSubscriber, RunSubscription } from '../runs/Run.js';

/** Interval between pings; a peer that did not pong since the last one is dropped. */
export const STREAM_PING_INTERVAL_MS = 30_000;
/** After closing a slow or departing peer, how long it may take to finish the close handshake. */
export const STREAM_CLOSE_GRACE_MS = 5_000;

/** Where streams come from (implemented by RunManager). */
export interface RunSource {
  subscribe(jobId: string, subscriber: RunSubscriber): RunSubscription | undefined;
}

/** Options of {@link StreamServer}. */
export interface StreamServerOptions {
  readonly runs: RunSource;
  readonly logger: Logger;
  /** STREAM_MAX_BUFFERED_BYTES: unsent bytes allowed per socket. */
  readonly maxBufferedBytes: number;
  /** @default STREAM_PING_INTERVAL_MS */
  readonly pingIntervalMs?: number;
  /** @default STREAM_CLOSE_GRACE_MS */
  readonly closeGraceMs?: number;
}

interface Connection {
  readonly ws: WebSocket;
  readonly jobId: string;
  alive: boolean;
  subscription: RunSubscription | null;
  graceTimer: NodeJS.Timeout | null;
}

/** Serves run streams on upgrades handed to it by the HTTP server. */
export class StreamServer {
  readonly #o: StreamServerOptions;
  // Clients send nothing; a tiny maxPayload keeps anyone from pushing data at us.
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 1024, perMessageDeflate: false, clientTracking: false });
  readonly #conns = new Set<Connection>();
  readonly #pingTimer: NodeJS.Timeout;
  #closed = false;

  constructor(options: StreamServerOptions) {
    this.#o = options;
    this.#pingTimer = setInterval(() => this.#pingAll(), options.pingIntervalMs ?? STREAM_PING_INTERVAL_MS);
  }

  /** Open stream sockets. */
  get connectionCount(): number {
    return this.#conns.size;
  }

  /** Bytes queued in user space, summed over every open socket (what slow peers cost us). */
  get bufferedBytes(): number {
    let total = 0;
    for (const c of this.#conns) total += c.ws.bufferedAmount;
    return total;
  }

  /** Completes the upgrade of `/stream/<jobId>` (the HTTP server routed it here by its prefix). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const jobId = path.slice(path.indexOf('/', 1) + 1);
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, jobId));
  }

  /** Closes every socket with 4503 and stops pinging. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pingTimer);
    const gone = [...this.#conns].map(
      (c) => new Promise<void>((resolve) => {
        if (c.ws.readyState === WebSocket.CLOSED) return resolve();
        c.ws.once('close', () => resolve());
        this.#close(c, StreamCloseCode.shuttingDown, 'the gateway is shutting down');
      }),
    );
    await Promise.all(gone);
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #onConnection(ws: WebSocket, jobId: string): void {
    const conn: Connection = { ws, jobId, alive: true, subscription: null, graceTimer: null };
    this.#conns.add(conn);
    ws.on('pong', () => (conn.alive = true));
    ws.on('error', (err) => this.#o.logger.debug('stream socket error', { jobId, error: err.message }));
    ws.on('close', () => {
      conn.subscription?.unsubscribe();
      if (conn.graceTimer) clearTimeout(conn.graceTimer);
      this.#conns.delete(conn);
    });
    if (this.#closed) return this.#close(conn, StreamCloseCode.shuttingDown, 'the gateway is shutting down');

    const valid = jobIdSchema.safeParse(jobId).success;
    const subscription = valid ? this.#o.runs.subscribe(jobId, { send: (msg) => this.#sendLive(conn, msg) }) : undefined;
    if (!subscription) {
      return this.#close(conn, StreamCloseCode.unknownJob, 'unknown or expired jobId; runs are kept for a few minutes after they end');
    }
    conn.subscription = subscription;
    // The replay is bounded by STREAM_REPLAY_BYTES, so it is sent without the per-socket cap.
    this.#send(conn, subscription.hello);
    for (const msg of subscription.replay) this.#send(conn, msg);
    if (subscription.replay.at(-1)?.type === 'end') this.#close(conn, 1000, 'run ended');
  }

  #sendLive(conn: Connection, msg: StreamMessage): void {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    this.#send(conn, msg);
    if (msg.type === 'end') return this.#close(conn, 1000, 'run ended');
    const buffered = conn.ws.bufferedAmount;
    if (buffered > this.#o.maxBufferedBytes) {
      this.#o.logger.warn('closing a stream socket that does not keep up', {
        jobId: conn.jobId,
        bufferedAmount: buffered,
        maxBufferedBytes: this.#o.maxBufferedBytes,
      });
      this.#close(conn, StreamCloseCode.slowConsumer, `too much unread output (over ${this.#o.maxBufferedBytes} bytes); reconnect to get the replay`);
    }
  }

  #send(conn: Connection, msg: StreamMessage): void {
    if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(JSON.stringify(msg));
  }

  /** Unsubscribes, starts the close handshake and drops the socket if it does not finish in time. */
  #close(conn: Connection, code: number, reason: string): void {
    conn.subscription?.unsubscribe();
    if (conn.ws.readyState === WebSocket.CLOSED || conn.graceTimer) return;
    conn.ws.close(code, reason);
    conn.graceTimer = setTimeout(() => conn.ws.terminate(), this.#o.closeGraceMs ?? STREAM_CLOSE_GRACE_MS);
  }

  #pingAll(): void {
    for (const conn of this.#conns) {
      // A closing socket is on its close-grace timer; let it read its close code.
      if (conn.graceTimer) continue;
      if (!conn.alive) {
        this.#o.logger.debug('dropping a stream peer that stopped answering pings', { jobId: conn.jobId });
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      if (conn.ws.readyState === WebSocket.OPEN) conn.ws.ping();
    }
  }
}
