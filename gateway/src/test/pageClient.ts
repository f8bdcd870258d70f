/**
 * A client of the page's `ws /stream` socket for tests: sends client messages
 * and records every server message, each validated against the protocol.
 * @module
 */
import { WebSocket } from 'ws';
import { STREAM_SOCKET_PATH, streamServerMessageSchema } from '@codecell/protocol';
import { recordSocket } from './socketRecorder.js';
import type { StreamClientMessage, StreamMessage, StreamServerMessage } from '@codecell/protocol';

/** An open page socket and what it received. */
export interface PageClient {
  readonly ws: WebSocket;
  /** Every server message, in arrival order. */
  readonly messages: StreamServerMessage[];
  /** Arrival time (performance.now) of each message. */
  readonly times: number[];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  send(msg: StreamClientMessage): void;
  /** Resolves with the first message matching `pred` (already received or coming). */
  waitFor<T extends StreamServerMessage>(pred: (m: StreamServerMessage) => m is T, timeoutMs?: number): Promise<T>;
  waitFor(pred: (m: StreamServerMessage) => boolean, timeoutMs?: number): Promise<StreamServerMessage>;
  /** Resolves once `cond()` holds, checked after each message. */
  waitUntil(cond: () => boolean, timeoutMs?: number): Promise<void>;
  /** The stream messages of one job, in order. */
  jobMessages(jobId: string): StreamMessage[];
  /** Concatenated stdout of one job. */
  stdout(jobId: string): string;
}

/** Connects to `ws://…/stream` with `headers` (a cookie) and records every message. */
export function openPage(baseUrl: string, headers: Record<string, string> = {}): PageClient {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${STREAM_SOCKET_PATH}`, { headers });
  const { messages, times, closed, waitFor, waitUntil } = recordSocket(ws, streamServerMessageSchema, 10_000);
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const jobMessages = (jobId: string): StreamMessage[] => messages.flatMap((m) => (m.type === 'job' && m.jobId === jobId ? [m.message] : []));
  return {
    ws,
    messages,
    times,
    opened,
    closed,
    send: (msg) => {
      void opened.then(() => ws.send(JSON.stringify(msg)));
    },
    waitFor,
    waitUntil,
    jobMessages,
    stdout: (jobId) => jobMessages(jobId).map((m) => (m.type === 'event' && m.event.type === 'stdout' ? m.event.data : '')).join(''),
  };
}
