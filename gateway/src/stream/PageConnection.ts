/**
 * One page's `ws /stream` socket (issue 12, gateway SPEC S10-S14): the page
 * starts runs, opens the room's terminal sessions, watches runs, types into
 * them and resizes them, all on this one socket. Client messages are handled
 * strictly in order (keystrokes must not overtake each other); what a message
 * starts that takes longer (a stdin chunk reaching the sandbox) goes on while
 * the next is read. Every operation acts as the socket's caller, checked by
 * the {@link PageSession} on each message.
 * @module
 */
import { WebSocket } from 'ws';
import type { RawData } from 'ws';
import { ERROR_CODE_TABLE, GATEWAY_PROTOCOL_VERSION, MAX_WATCHED_PER_SOCKET, errorCodeSchema, streamClientMessageSchema, toCodeCellError } from '@codecell/protocol';
import type { ErrorCode, OpenTerminal, RunCodeOutput, SendStdinInput, StreamClientMessage, StreamServerMessage, TerminalProgram, TerminalSize, WorkspaceFile } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { RunSubscriber, RunSubscription } from '../runs/ports.js';
import { SocketOutbox } from './SocketOutbox.js';

/** A watched run's subscription, and the room it belongs to (for revocation). */
export interface Watch {
  readonly subscription: RunSubscription;
  readonly roomId: string | null;
}

/**
 * The operations of a page socket, bound to its caller. Each checks the
 * caller's role (as the tRPC procedures do) and throws a CodeCellError to refuse.
 * `sendStdin` and `resize` resolve once the input is queued in order, with a
 * promise of its delivery.
 */
export interface PageSession {
  /** The caller's account (null: none), for revocation. */
  readonly userId: string | null;
  submit(input: unknown): Promise<RunCodeOutput>;
  watch(jobId: string, subscriber: RunSubscriber): Promise<Watch>;
  sendStdin(input: SendStdinInput): Promise<{ readonly delivered: Promise<void> }>;
  resize(jobId: string, size: TerminalSize): Promise<{ readonly delivered: Promise<void> }>;
  stop(jobId: string): Promise<void>;
  openTerminal(input: { roomId: string; program: TerminalProgram; size: TerminalSize; files?: readonly WorkspaceFile[] }): Promise<RunCodeOutput>;
  followTerminals(roomId: string, listener: (open: OpenTerminal[]) => void): Promise<() => void>;
}

export interface PageConnectionOptions {
  readonly ws: WebSocket;
  /** The connection under `ws`, corked while a batch of messages is written. */
  readonly socket?: { cork(): void; uncork(): void };
  readonly session: Promise<PageSession>;
  readonly logger: Logger;
  readonly maxBufferedBytes: number;
  /** Closes the socket (with the close handshake's grace timer). */
  readonly close: (code: number, reason: string) => void;
}

export class PageConnection {
  alive = true;
  readonly #o: PageConnectionOptions;
  readonly #outbox: SocketOutbox;
  readonly #watches = new Map<string, Watch>();
  readonly #follows = new Map<string, () => void>();
  /** The latest follow asked for per room: one that a revoke or a newer ask overtook while it started is undone. */
  readonly #followAsks = new Map<string, number>();
  #asks = 0;
  #session: PageSession | null = null;
  /** The last message's handling (the session's start before the first): the next one goes after it. */
  #queue: Promise<void>;
  /** Messages (and the session's start) not yet handled: with none, the next is handled at once. */
  #pending = 1;
  #closed = false;

  constructor(options: PageConnectionOptions) {
    this.#o = options;
    this.#outbox = new SocketOutbox({ ws: options.ws, maxBufferedBytes: options.maxBufferedBytes, ...(options.socket ? { socket: options.socket } : {}) });
    this.#queue = options.session
      .then(
        (s) => {
          this.#session = s;
          this.#send({ type: 'ready', protocolVersion: GATEWAY_PROTOCOL_VERSION });
        },
        (err: unknown) => {
          const e = toCodeCellError(err);
          this.#o.close(ERROR_CODE_TABLE[e.code].ws, `${e.code}: ${e.message}`.slice(0, 120));
        },
      )
      .finally(() => this.#pending--);
    options.ws.on('message', (data: RawData, isBinary: boolean) => this.#onMessage(data, isBinary));
  }

  /** The caller's account, once known. */
  get userId(): string | null {
    return this.#session?.userId ?? null;
  }

  /** Bytes waiting to be sent. */
  get bufferedBytes(): number {
    return this.#o.ws.bufferedAmount + this.#outbox.pendingLiveBytes;
  }

  /** Ends the watches of a room (the caller's access to it ended), telling the page why. */
  revoke(roomId: string, code: ErrorCode, message: string): void {
    for (const [jobId, w] of [...this.#watches]) {
      if (w.roomId !== roomId) continue;
      this.#unwatch(jobId);
      this.#send({ type: 'gone', jobId, code, message });
    }
    this.#follows.get(roomId)?.();
    this.#follows.delete(roomId);
    this.#followAsks.delete(roomId);
  }

  /** Drops every subscription (the socket closed or is closing). Safe to call twice. */
  dispose(): void {
    this.#closed = true;
    this.#outbox.stop();
    for (const jobId of [...this.#watches.keys()]) this.#unwatch(jobId);
    for (const unfollow of this.#follows.values()) unfollow();
    this.#follows.clear();
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    let msg: StreamClientMessage;
    try {
      if (isBinary) throw new Error('binary frame');
      const parsed = streamClientMessageSchema.safeParse(JSON.parse(rawText(data)));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return this.#refuse({ ref: null, jobId: null }, 'invalid_request', `invalid message: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
      }
      msg = parsed.data;
    } catch {
      return this.#refuse({ ref: null, jobId: null }, 'bad_json', 'messages on /stream are JSON text frames (see streamClientMessageSchema)');
    }
    // In order: after the one before, or at once when nothing waits (a run's
    // request then leaves in this tick, issue 12's first-output budget).
    const handled = this.#pending++ === 0 ? this.#handle(msg) : this.#queue.then(() => this.#handle(msg));
    this.#queue = handled
      .catch((err: unknown) => this.#o.logger.error('page socket message failed', { error: String(err) }))
      .finally(() => this.#pending--);
  }

  async #handle(msg: StreamClientMessage): Promise<void> {
    const session = this.#session;
    if (session === null || this.#closed) return;
    const about = { ref: 'ref' in msg ? msg.ref : null, jobId: 'jobId' in msg ? msg.jobId : null };
    try {
      switch (msg.type) {
        case 'run': {
          const out = await session.submit(msg.input);
          // The run's request to the sandbox is written on a later tick of this
          // one: it goes first, the answer and the watch after (issue 12's
          // first-output budget; the run's log replays what comes meanwhile).
          await afterThisTick();
          this.#send({ type: 'accepted', ref: msg.ref, ...out });
          return await this.#watch(session, out.jobId);
        }
        case 'terminal': {
          const out = await session.openTerminal({ roomId: msg.roomId, program: msg.program, size: msg.size, ...(msg.files ? { files: msg.files } : {}) });
          this.#send({ type: 'accepted', ref: msg.ref, ...out });
          return await this.#watch(session, out.jobId);
        }
        case 'watch':
          return await this.#watch(session, msg.jobId);
        case 'unwatch':
          return this.#unwatch(msg.jobId);
        case 'stdin': {
          const { delivered } = await session.sendStdin({ jobId: msg.jobId, data: msg.data, ...(msg.eof === undefined ? {} : { eof: msg.eof }) });
          delivered.catch((err: unknown) => this.#refuseWith(about, err));
          return;
        }
        case 'resize': {
          const { delivered } = await session.resize(msg.jobId, { cols: msg.cols, rows: msg.rows });
          delivered.catch((err: unknown) => this.#refuseWith(about, err));
          return;
        }
        case 'stop':
          return await session.stop(msg.jobId);
        case 'terminals':
          return await this.#follow(session, msg.roomId);
      }
    } catch (err) {
      this.#refuseWith(about, err);
    }
  }

  async #watch(session: PageSession, jobId: string): Promise<void> {
    this.#unwatch(jobId);
    if (this.#watches.size >= MAX_WATCHED_PER_SOCKET) {
      return this.#send({ type: 'gone', jobId, code: 'capacity_exceeded', message: `a socket watches at most ${MAX_WATCHED_PER_SOCKET} runs at once; unwatch some` });
    }
    let subscribed: Watch | null = null;
    const early: Parameters<RunSubscriber['send']>[0][] = [];
    const watch = await session.watch(jobId, {
      send: (message) => {
        if (subscribed === null) early.push(message);
        else this.#deliver(jobId, message);
      },
    });
    if (this.#closed) return watch.subscription.unsubscribe();
    subscribed = watch;
    this.#watches.set(jobId, watch);
    this.#outbox.pushReplay({ type: 'job', jobId, message: watch.subscription.hello });
    for (const message of watch.subscription.replay) this.#outbox.pushReplay({ type: 'job', jobId, message });
    this.#outbox.flush();
    if (watch.subscription.replay.at(-1)?.type === 'end') this.#unwatch(jobId);
    for (const message of early) this.#deliver(jobId, message);
  }

  #deliver(jobId: string, message: Parameters<RunSubscriber['send']>[0]): void {
    if (this.#closed || !this.#watches.has(jobId)) return;
    this.#send({ type: 'job', jobId, message });
    if (message.type === 'end') this.#unwatch(jobId);
  }

  #unwatch(jobId: string): void {
    this.#watches.get(jobId)?.subscription.unsubscribe();
    this.#watches.delete(jobId);
  }

  async #follow(session: PageSession, roomId: string): Promise<void> {
    this.#follows.get(roomId)?.();
    this.#follows.delete(roomId);
    const ask = ++this.#asks;
    this.#followAsks.set(roomId, ask);
    const current = (): boolean => this.#followAsks.get(roomId) === ask;
    const unfollow = await session.followTerminals(roomId, (open) => (current() ? this.#send({ type: 'terminals', roomId, open }) : undefined));
    if (this.#closed || !current()) return unfollow();
    this.#follows.set(roomId, unfollow);
  }

  #send(msg: StreamServerMessage): void {
    if (this.#closed || this.#o.ws.readyState !== WebSocket.OPEN) return;
    this.#outbox.pushLive(msg);
    if (this.#outbox.overflowing) {
      this.#o.logger.warn('closing a page stream socket that does not keep up', { pendingBytes: this.#outbox.pendingLiveBytes, maxBufferedBytes: this.#o.maxBufferedBytes });
      this.#o.close(4429, `too much unread output (over ${this.#o.maxBufferedBytes} bytes); reconnect and watch again to get the replay`);
    }
  }

  #refuseWith(about: { ref: string | null; jobId: string | null }, err: unknown): void {
    const e = toCodeCellError(err);
    this.#refuse(about, e.code, e.message);
  }

  #refuse(about: { ref: string | null; jobId: string | null }, code: ErrorCode, message: string): void {
    this.#send({ type: 'refused', ...about, code: errorCodeSchema.catch('internal_error').parse(code), message });
  }
}

/** Resolves once the writes this tick queued (ticks, then I/O) are done. */
function afterThisTick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
