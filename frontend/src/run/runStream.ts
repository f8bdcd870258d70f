/**
 * Client of `ws /stream/<jobId>`: parses every frame, reconnects with backoff
 * until the run's `end`, and leaves de-duplication of replayed events to the
 * reducer (by `seq`).
 * @module
 */
import { GATEWAY_PROTOCOL_VERSION, StreamCloseCode, streamMessageSchema } from '@codecell/protocol';
import type { StreamMessage } from '@codecell/protocol';

/** Delays between reconnect attempts; the last one repeats. */
export const RECONNECT_DELAYS_MS: readonly number[] = [250, 500, 1000, 2000, 5000];

/** The part of the browser WebSocket this client uses (a fake in tests). */
export interface StreamSocket {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(code?: number, reason?: string): void;
}

export interface RunStreamHandlers {
  /** Every valid message, in order (replays included). */
  onMessage(msg: StreamMessage): void;
  /** The socket is (re)connecting after a drop; `attempt` counts from 1. */
  onReconnecting(attempt: number): void;
  /** The gateway does not know this job (expired, or the gateway restarted). */
  onGone(message: string): void;
  /** A frame was not a valid stream message, or the protocol version differs. */
  onProtocolError(message: string): void;
}

export interface RunStreamOptions {
  readonly url: string;
  readonly handlers: RunStreamHandlers;
  /** Defaults to the browser's WebSocket. */
  readonly createSocket?: (url: string) => StreamSocket;
  readonly reconnectDelaysMs?: readonly number[];
}

/** A live subscription; `close()` is safe to call twice. */
export interface RunStreamHandle {
  close(): void;
}

/** Subscribes to a run's stream. */
export function openRunStream(opts: RunStreamOptions): RunStreamHandle {
  const createSocket = opts.createSocket ?? ((url: string) => new WebSocket(url) as unknown as StreamSocket);
  const delays = opts.reconnectDelaysMs ?? RECONNECT_DELAYS_MS;
  const { handlers } = opts;
  let socket: StreamSocket | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;
  let ended = false;
  let failures = 0;

  const connect = (): void => {
    const ws = createSocket(opts.url);
    socket = ws;
    ws.onmessage = (ev) => {
      const msg = parseFrame(ev.data);
      if (!msg.ok) {
        handlers.onProtocolError(msg.error);
        return;
      }
      if (msg.value.type === 'hello') {
        failures = 0;
        if (msg.value.protocolVersion !== GATEWAY_PROTOCOL_VERSION) {
          handlers.onProtocolError(
            `The gateway speaks stream protocol ${msg.value.protocolVersion}, this page ${GATEWAY_PROTOCOL_VERSION}: reload the page.`,
          );
        }
      }
      if (msg.value.type === 'end') ended = true;
      handlers.onMessage(msg.value);
    };
    ws.onclose = (ev) => {
      socket = null;
      if (closed || ended) return;
      if (ev.code === StreamCloseCode.unknownJob) {
        closed = true;
        handlers.onGone(ev.reason || 'This run is no longer known to the gateway.');
        return;
      }
      // Anything else (network drop, gateway restart, slow consumer) is retried; the
      // gateway replays the run's buffered messages on the next connection.
      const delay = delays[Math.min(failures, delays.length - 1)] ?? 1000;
      failures += 1;
      handlers.onReconnecting(failures);
      timer = setTimeout(() => {
        timer = null;
        if (!closed) connect();
      }, delay);
    };
  };

  connect();
  return {
    close() {
      if (closed) return;
      closed = true;
      if (timer !== null) clearTimeout(timer);
      socket?.close(1000, 'client closed');
      socket = null;
    },
  };
}

type Parsed = { ok: true; value: StreamMessage } | { ok: false; error: string };

function parseFrame(data: unknown): Parsed {
  if (typeof data !== 'string') return { ok: false, error: 'The gateway sent a binary frame on the run stream.' };
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { ok: false, error: 'The gateway sent a frame that is not JSON on the run stream.' };
  }
  const result = streamMessageSchema.safeParse(json);
  if (!result.success) {
    return { ok: false, error: `The gateway sent an unexpected run-stream message: ${result.error.issues[0]?.message ?? 'invalid'}` };
  }
  return { ok: true, value: result.data };
}
