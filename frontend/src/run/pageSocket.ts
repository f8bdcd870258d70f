/**
 * Client of the gateway's page socket, `ws /stream` (issue 12): one WebSocket
 * the room page opens once and keeps. Runs start with one message and stream
 * back on it; runs and terminal sessions are watched, typed into and resized
 * on it. It reconnects with backoff, and then watches again everything it
 * watched (the gateway replays; the reducer skips what it has by `seq`).
 * @module
 */
import { GATEWAY_PROTOCOL_VERSION, streamServerMessageSchema } from '@codecell/protocol';
import type { OpenTerminal, RunCodeInput, RunCodeOutput, StreamClientMessage, StreamMessage, StreamServerMessage, TerminalProgram, TerminalSize, WorkspaceFile } from '@codecell/protocol';
import { RECONNECT_DELAYS_MS } from './runStream';
import type { RunStreamHandle, RunStreamHandlers, StreamSocket } from './runStream';

/** A refused request, as the gateway's error codes say. */
export class PageSocketError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PageSocketError';
  }
}

/** Told when a request about a job (stdin, resize, stop) was refused. */
export type RefusalListener = (refusal: { readonly jobId: string; readonly code: string; readonly message: string }) => void;

export interface PageSocketOptions {
  readonly url: string;
  /** Defaults to the browser's WebSocket. */
  readonly createSocket?: (url: string) => StreamSocket & { send(data: string): void };
  readonly reconnectDelaysMs?: readonly number[];
  /** A request about a job was refused. */
  readonly onRefused?: RefusalListener;
}

/** The page socket could not connect: the page says it cannot reach the gateway (see toUserError). */
function unreachable(): PageSocketError {
  return new PageSocketError('gateway_unreachable', 'the stream socket cannot connect to the gateway');
}

/** Messages a closed socket keeps to send when it is back (keystrokes typed while reconnecting). */
const MAX_QUEUED = 1000;

interface Pending {
  resolve(out: RunCodeOutput): void;
  reject(err: PageSocketError): void;
}

export class PageSocket {
  readonly #o: PageSocketOptions;
  #socket: (StreamSocket & { send(data: string): void }) | null = null;
  #open = false;
  /** Set once a socket failed or dropped: the next one must watch everything again. */
  #renew = false;
  #closed = false;
  #failures = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #nextRef = 0;
  readonly #queue: string[] = [];
  readonly #pending = new Map<string, Pending>();
  /** Handlers of watched jobs. */
  readonly #watches = new Map<string, RunStreamHandlers>();
  /** Messages of jobs the gateway watches for us (after run/terminal) before a handler is attached. */
  readonly #early = new Map<string, StreamMessage[]>();
  readonly #follows = new Map<string, (open: OpenTerminal[]) => void>();

  constructor(options: PageSocketOptions) {
    this.#o = options;
    this.#connect();
  }

  /** Starts a run; its messages go to whoever {@link watch}es its jobId next (none are lost meanwhile). */
  run(input: RunCodeInput): Promise<RunCodeOutput> {
    return this.#request((ref) => ({ type: 'run', ref, input }));
  }

  /** Opens (with the room's `files` written first) or joins the room's terminal session of `program`. */
  terminal(o: { roomId: string; program: TerminalProgram; size: TerminalSize; files?: WorkspaceFile[] }): Promise<RunCodeOutput> {
    return this.#request((ref) => ({ type: 'terminal', ref, ...o }));
  }

  /** Follows a job's messages (replay, then live) until closed. */
  watch(jobId: string, handlers: RunStreamHandlers): RunStreamHandle {
    this.#watches.set(jobId, handlers);
    const early = this.#early.get(jobId);
    this.#early.delete(jobId);
    if (early) for (const m of early) handlers.onMessage(m);
    else this.#send({ type: 'watch', jobId });
    return {
      close: () => {
        if (this.#watches.get(jobId) !== handlers) return;
        this.#watches.delete(jobId);
        this.#send({ type: 'unwatch', jobId });
      },
    };
  }

  stdin(jobId: string, data: string, eof = false): void {
    this.#send({ type: 'stdin', jobId, data, ...(eof ? { eof } : {}) });
  }

  resize(jobId: string, size: TerminalSize): void {
    this.#send({ type: 'resize', jobId, ...size });
  }

  stop(jobId: string): void {
    this.#send({ type: 'stop', jobId });
  }

  /** Tells `listener` the room's open terminal sessions now and on every change. */
  followTerminals(roomId: string, listener: (open: OpenTerminal[]) => void): () => void {
    this.#follows.set(roomId, listener);
    this.#send({ type: 'terminals', roomId });
    return () => void (this.#follows.get(roomId) === listener && this.#follows.delete(roomId));
  }

  /** Closes the socket for good. Safe to call twice. */
  dispose(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#socket?.close(1000, 'page closed');
    this.#socket = null;
    for (const p of this.#pending.values()) p.reject(new PageSocketError('sandbox_unavailable', 'the page closed'));
    this.#pending.clear();
  }

  #request(make: (ref: string) => StreamClientMessage): Promise<RunCodeOutput> {
    // Waiting for the next attempt (seconds away) would look like a hang: say it now.
    if (this.#socket === null && !this.#closed) return Promise.reject(unreachable());
    const ref = `r${++this.#nextRef}`;
    return new Promise<RunCodeOutput>((resolve, reject) => {
      this.#pending.set(ref, { resolve, reject });
      this.#send(make(ref));
    });
  }

  #send(msg: StreamClientMessage): void {
    if (this.#closed) return;
    const text = JSON.stringify(msg);
    if (this.#open && this.#socket) this.#socket.send(text);
    else if (this.#queue.length < MAX_QUEUED) this.#queue.push(text);
  }

  #connect(): void {
    const create = this.#o.createSocket ?? ((url: string) => new WebSocket(url) as unknown as StreamSocket & { send(data: string): void });
    const ws = create(this.#o.url);
    this.#socket = ws;
    ws.onmessage = (ev) => this.#onMessage(ev.data);
    ws.onclose = () => this.#onClose(ws);
  }

  #onMessage(data: unknown): void {
    if (typeof data !== 'string') return;
    let msg: StreamServerMessage;
    try {
      const parsed = streamServerMessageSchema.safeParse(JSON.parse(data));
      if (!parsed.success) return this.#protocolError(`The gateway sent an unexpected message: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      msg = parsed.data;
    } catch {
      return this.#protocolError('The gateway sent a frame that is not JSON on the stream socket.');
    }
    switch (msg.type) {
      case 'ready':
        return this.#ready(msg.protocolVersion);
      case 'accepted': {
        const p = this.#pending.get(msg.ref);
        this.#pending.delete(msg.ref);
        // The gateway watches the job for us from now on: keep its messages until someone watches it here.
        if (!this.#watches.has(msg.jobId)) this.#early.set(msg.jobId, []);
        return p?.resolve({ jobId: msg.jobId, position: msg.position });
      }
      case 'refused': {
        if (msg.ref !== null) {
          const p = this.#pending.get(msg.ref);
          this.#pending.delete(msg.ref);
          if (p) return p.reject(new PageSocketError(msg.code, msg.message));
        }
        if (msg.jobId !== null) this.#o.onRefused?.({ jobId: msg.jobId, code: msg.code, message: msg.message });
        return;
      }
      case 'job': {
        const handlers = this.#watches.get(msg.jobId);
        if (handlers) return handlers.onMessage(msg.message);
        this.#early.get(msg.jobId)?.push(msg.message);
        return;
      }
      case 'gone': {
        this.#early.delete(msg.jobId);
        const handlers = this.#watches.get(msg.jobId);
        this.#watches.delete(msg.jobId);
        return handlers?.onGone(msg.message);
      }
      case 'terminals':
        return this.#follows.get(msg.roomId)?.(msg.open);
    }
  }

  #ready(version: number): void {
    if (version !== GATEWAY_PROTOCOL_VERSION) {
      this.#protocolError(`The gateway speaks stream protocol ${version}, this page ${GATEWAY_PROTOCOL_VERSION}: reload the page.`);
    }
    const renew = this.#renew;
    this.#open = true;
    this.#renew = false;
    this.#failures = 0;
    if (renew) {
      // A new socket: the gateway watches nothing for it yet.
      for (const jobId of this.#watches.keys()) this.#socket?.send(JSON.stringify({ type: 'watch', jobId } satisfies StreamClientMessage));
      for (const roomId of this.#follows.keys()) this.#socket?.send(JSON.stringify({ type: 'terminals', roomId } satisfies StreamClientMessage));
    }
    for (const text of this.#queue.splice(0)) this.#socket?.send(text);
  }

  #onClose(ws: StreamSocket): void {
    if (this.#socket !== ws) return;
    const wasOpen = this.#open;
    this.#open = false;
    this.#socket = null;
    if (this.#closed) return;
    // Requests in flight are lost with the socket: say so rather than wait forever.
    for (const p of this.#pending.values()) p.reject(wasOpen ? new PageSocketError('sandbox_unavailable', 'the connection to the gateway dropped; try again') : unreachable());
    this.#pending.clear();
    this.#queue.length = 0;
    this.#early.clear();
    this.#renew = true;
    const delays = this.#o.reconnectDelaysMs ?? RECONNECT_DELAYS_MS;
    const delay = delays[Math.min(this.#failures, delays.length - 1)] ?? 1000;
    this.#failures += 1;
    for (const h of this.#watches.values()) h.onReconnecting(this.#failures);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#closed) this.#connect();
    }, delay);
  }

  #protocolError(message: string): void {
    for (const h of this.#watches.values()) h.onProtocolError(message);
  }
}
