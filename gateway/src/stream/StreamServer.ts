/**
 * `ws /stream/<jobId>`: live run output over plain `ws` (noServer mode), and
 * the page's multiplexed `ws /stream` socket ({@link PageConnection}). Each
 * socket gets `hello`, the replay, then live messages up to `end`, and is closed
 * with 1000. Messages are handed to the socket only while it has less than the
 * per-socket cap unsent, the replay included; a socket whose live backlog
 * exceeds the cap is closed with 4429 while the run goes on for everyone else.
 * An unknown or expired job gets 4404; a caller who may not watch the run gets
 * the close code of the refusal (4401, 4403, 4410); subscribers beyond the
 * per-run or total cap get 4429.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { ERROR_CODE_TABLE, STREAM_SOCKET_PATH, StreamCloseCode, jobIdSchema, toCodeCellError } from '@codecell/protocol';
import type { StreamMessage } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { RunSubscriber, RunSubscription } from '../runs/ports.js';
import { SocketOutbox } from './SocketOutbox.js';
import type { PageSession } from './PageConnection.js';
import { PageSockets } from './PageSockets.js';

/** Interval between pings; a peer that did not pong since the last one is dropped. */
export const STREAM_PING_INTERVAL_MS = 30_000;
/** After closing a slow or departing peer, how long it may take to finish the close handshake. */
export const STREAM_CLOSE_GRACE_MS = 5_000;
const DEFAULT_MAX_SUBSCRIBERS_PER_RUN = 64;
const DEFAULT_MAX_SOCKETS = 2048;
const UNKNOWN_JOB = 'unknown or expired jobId; runs are kept for a few minutes after they end';

/** Where streams come from (implemented by RunManager). */
export interface RunSource {
  subscribe(jobId: string, subscriber: RunSubscriber): Promise<RunSubscription | undefined>;
}

/** Who watches a stream: for closing their sockets when their access ends. */
export interface StreamWatcher {
  readonly userId: string | null;
  readonly roomId: string | null;
}

/** Options of {@link StreamServer}. */
export interface StreamServerOptions {
  readonly runs: RunSource;
  readonly logger: Logger;
  /** STREAM_MAX_BUFFERED_BYTES: unsent bytes allowed per socket. */
  readonly maxBufferedBytes: number;
  /** Checks the upgrade's caller may watch the job; throws a CodeCellError to refuse. @default everyone may */
  readonly authorize?: (req: IncomingMessage, jobId: string) => Promise<StreamWatcher>;
  /** MAX_STREAM_SUBSCRIBERS_PER_RUN @default 64 */
  readonly maxSubscribersPerRun?: number;
  /** MAX_STREAM_SOCKETS @default 2048 */
  readonly maxSockets?: number;
  /** @default STREAM_PING_INTERVAL_MS */
  readonly pingIntervalMs?: number;
  /** @default STREAM_CLOSE_GRACE_MS */
  readonly closeGraceMs?: number;
  /** The page socket's operations as the upgrade's caller (`ws /stream`); absent: that path is refused with 4404. */
  readonly page?: (req: IncomingMessage) => Promise<PageSession>;
  /** Largest message a page may send on `ws /stream` (a `run` carries the room's files). @default 1 MiB */
  readonly maxPageMessageBytes?: number;
}

interface Connection {
  readonly ws: WebSocket;
  readonly jobId: string;
  alive: boolean;
  subscription: RunSubscription | null;
  graceTimer: NodeJS.Timeout | null;
  watcher: StreamWatcher | null;
  readonly outbox: SocketOutbox;
  /** Close this way once the outbox is empty (the run ended). */
  closeWhenSent: { code: number; reason: string } | null;
  /** Live messages that came while the subscription was being made; sent after the replay. */
  early: StreamMessage[] | null;
}

/** Serves run streams on upgrades handed to it by the HTTP server. */
export class StreamServer {
  readonly #o: StreamServerOptions;
  // Clients send nothing; a tiny maxPayload keeps anyone from pushing data at us.
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 1024, perMessageDeflate: false, clientTracking: false });
  readonly #conns = new Set<Connection>();
  readonly #pages: PageSockets | null;
  /** Subscribed sockets per job. */
  readonly #perJob = new Map<string, number>();
  readonly #pingTimer: NodeJS.Timeout;
  #closed = false;

  constructor(options: StreamServerOptions) {
    this.#o = options;
    this.#pages = options.page
      ? new PageSockets({
          session: options.page,
          logger: options.logger,
          maxBufferedBytes: options.maxBufferedBytes,
          maxMessageBytes: options.maxPageMessageBytes ?? 1024 * 1024,
          closeGraceMs: options.closeGraceMs ?? STREAM_CLOSE_GRACE_MS,
        })
      : null;
    this.#pingTimer = setInterval(() => this.#pingAll(), options.pingIntervalMs ?? STREAM_PING_INTERVAL_MS);
  }

  /** Open stream sockets. */
  get connectionCount(): number {
    return this.#conns.size + (this.#pages?.size ?? 0);
  }

  /** Bytes queued in user space, summed over every open socket (what slow peers cost us). */
  get bufferedBytes(): number {
    let total = 0;
    for (const c of this.#conns) total += c.ws.bufferedAmount + c.outbox.pendingLiveBytes;
    total += this.#pages?.bufferedBytes ?? 0;
    return total;
  }

  /** Closes the streams `userIds` (everyone when null) watch in a room, with `reason` and close code `code`. */
  disconnect(o: { roomId: string; userIds: ReadonlySet<string> | null; code: number; reason: string }): number {
    let closed = 0;
    for (const conn of this.#conns) {
      const w = conn.watcher;
      if (w === null || w.roomId !== o.roomId) continue;
      if (o.userIds !== null && (w.userId === null || !o.userIds.has(w.userId))) continue;
      this.#close(conn, o.code, o.reason);
      closed++;
    }
    // A page socket stays open; only its watches of that room end.
    this.#pages?.revoke(o);
    return closed;
  }

  /** Completes the upgrade of `/stream/<jobId>` (the HTTP server routed it here by its prefix). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === STREAM_SOCKET_PATH && this.#pages) {
      const maxSockets = this.#o.maxSockets ?? DEFAULT_MAX_SOCKETS;
      this.#pages.handleUpgrade({ req, socket, head }, () => {
        if (this.#closed) return { code: StreamCloseCode.shuttingDown, reason: 'the gateway is shutting down' };
        if (this.connectionCount > maxSockets) return { code: StreamCloseCode.slowConsumer, reason: `the gateway serves ${maxSockets} stream sockets at most (MAX_STREAM_SOCKETS); try again later` };
        return null;
      });
      return;
    }
    const jobId = path.slice(path.indexOf('/', 1) + 1);
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, { req, socket }, jobId));
  }

  /** Closes every socket with 4503 and stops pinging. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pingTimer);
    const pagesGone = this.#pages?.dispose(StreamCloseCode.shuttingDown, 'the gateway is shutting down');
    const gone = [...this.#conns].map(
      (c) => new Promise<void>((resolve) => {
        if (c.ws.readyState === WebSocket.CLOSED) return resolve();
        c.ws.once('close', () => resolve());
        this.#close(c, StreamCloseCode.shuttingDown, 'the gateway is shutting down');
      }),
    );
    await Promise.all([...gone, pagesGone]);
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #onConnection(ws: WebSocket, { req, socket }: { req: IncomingMessage; socket: Duplex }, jobId: string): void {
    const conn: Connection = {
      ws,
      jobId,
      alive: true,
      subscription: null,
      graceTimer: null,
      watcher: null,
      closeWhenSent: null,
      early: [],
      outbox: new SocketOutbox({
        ws,
        socket,
        maxBufferedBytes: this.#o.maxBufferedBytes,
        onEmpty: () => {
          if (conn.closeWhenSent) this.#close(conn, conn.closeWhenSent.code, conn.closeWhenSent.reason);
        },
      }),
    };
    this.#conns.add(conn);
    ws.on('pong', () => (conn.alive = true));
    ws.on('error', (err) => this.#o.logger.debug('stream socket error', { jobId, error: err.message }));
    ws.on('close', () => {
      this.#unsubscribe(conn);
      if (conn.graceTimer) clearTimeout(conn.graceTimer);
      conn.outbox.stop();
      this.#conns.delete(conn);
    });
    if (this.#closed) return this.#close(conn, StreamCloseCode.shuttingDown, 'the gateway is shutting down');
    const maxSockets = this.#o.maxSockets ?? DEFAULT_MAX_SOCKETS;
    if (this.#conns.size > maxSockets) {
      return this.#close(conn, StreamCloseCode.slowConsumer, `the gateway serves ${maxSockets} run streams at most (MAX_STREAM_SOCKETS); try again later`);
    }
    if (!jobIdSchema.safeParse(jobId).success) return this.#close(conn, StreamCloseCode.unknownJob, UNKNOWN_JOB);
    const authorize = this.#o.authorize ?? (() => Promise.resolve({ userId: null, roomId: null }));
    authorize(req, jobId).then(
      (watcher) => this.#start(conn, watcher).catch((err: unknown) => this.#refuse(conn, err)),
      (err: unknown) => this.#refuse(conn, err),
    );
  }

  #refuse(conn: Connection, err: unknown): void {
    const e = toCodeCellError(err);
    this.#close(conn, ERROR_CODE_TABLE[e.code].ws, e.code === 'not_found' ? UNKNOWN_JOB : `${e.code}: ${e.message}`.slice(0, 120));
  }

  async #start(conn: Connection, watcher: StreamWatcher): Promise<void> {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    const perRun = this.#o.maxSubscribersPerRun ?? DEFAULT_MAX_SUBSCRIBERS_PER_RUN;
    const watching = this.#perJob.get(conn.jobId) ?? 0;
    if (watching >= perRun) {
      return this.#close(conn, StreamCloseCode.slowConsumer, `${watching} subscribers already watch this run (MAX_STREAM_SUBSCRIBERS_PER_RUN); try again later`);
    }
    // Counted before the (possibly remote) subscription resolves, so concurrent upgrades see it.
    this.#perJob.set(conn.jobId, watching + 1);
    conn.watcher = watcher;
    const subscription = await this.#o.runs.subscribe(conn.jobId, { send: (msg) => this.#sendLive(conn, msg) });
    if (!subscription) {
      this.#release(conn.jobId);
      return this.#close(conn, StreamCloseCode.unknownJob, UNKNOWN_JOB);
    }
    if (conn.ws.readyState !== WebSocket.OPEN) {
      subscription.unsubscribe();
      return this.#release(conn.jobId);
    }
    conn.subscription = subscription;
    // The replay goes through the same queue as live messages: never more than the cap handed to the socket.
    conn.outbox.pushReplay(subscription.hello);
    for (const msg of subscription.replay) conn.outbox.pushReplay(msg);
    if (subscription.replay.at(-1)?.type === 'end') conn.closeWhenSent = { code: 1000, reason: 'run ended' };
    const early = conn.early ?? [];
    conn.early = null;
    conn.outbox.flush();
    for (const msg of early) this.#sendLive(conn, msg);
  }

  #sendLive(conn: Connection, msg: StreamMessage): void {
    if (conn.early !== null) return void conn.early.push(msg);
    if (conn.ws.readyState !== WebSocket.OPEN || conn.graceTimer || conn.closeWhenSent) return;
    if (msg.type === 'end') conn.closeWhenSent = { code: 1000, reason: 'run ended' };
    conn.outbox.pushLive(msg);
    // The socket holds at most the cap; live output waiting behind a full socket may reach the cap too, then the peer is cut.
    if (conn.outbox.overflowing && conn.closeWhenSent === null) {
      this.#o.logger.warn('closing a stream socket that does not keep up', {
        jobId: conn.jobId,
        bufferedAmount: conn.ws.bufferedAmount,
        pendingBytes: conn.outbox.pendingLiveBytes,
        maxBufferedBytes: this.#o.maxBufferedBytes,
      });
      this.#close(conn, StreamCloseCode.slowConsumer, `too much unread output (over ${this.#o.maxBufferedBytes} bytes); reconnect to get the replay`);
    }
  }

  #unsubscribe(conn: Connection): void {
    if (conn.subscription === null) return;
    conn.subscription.unsubscribe();
    conn.subscription = null;
    this.#release(conn.jobId);
  }

  #release(jobId: string): void {
    const n = (this.#perJob.get(jobId) ?? 1) - 1;
    if (n > 0) this.#perJob.set(jobId, n);
    else this.#perJob.delete(jobId);
  }

  /** Unsubscribes, starts the close handshake and drops the socket if it does not finish in time. */
  #close(conn: Connection, code: number, reason: string): void {
    this.#unsubscribe(conn);
    conn.outbox.stop();
    if (conn.ws.readyState === WebSocket.CLOSED || conn.graceTimer) return;
    // A close reason is at most 123 bytes.
    conn.ws.close(code, Buffer.from(reason).subarray(0, 123).toString('utf8').replace(/\uFFFD$/, ''));
    conn.graceTimer = setTimeout(() => conn.ws.terminate(), this.#o.closeGraceMs ?? STREAM_CLOSE_GRACE_MS);
  }

  #pingAll(): void {
    this.#pages?.ping();
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
