/**
 * Clients for tests: a typed tRPC client and a `/stream/<jobId>` reader that
 * validates every message against the protocol schema.
 * @module
 */
import { createTRPCClient, httpLink } from '@trpc/client';
import type { TRPCClient } from '@trpc/client';
import { WebSocket } from 'ws';
import { streamMessageSchema } from '@codecell/protocol';
import { recordSocket } from './socketRecorder.js';
import type { StreamMessage } from '@codecell/protocol';
import type { AppRouter } from '../trpc/router.js';

/** A tRPC client of the gateway at `baseUrl`, sending `headers` (a cookie, a bearer token) with every call. */
export function trpcClient(baseUrl: string, headers: () => Record<string, string> = () => ({}), f: typeof fetch = fetch): TRPCClient<AppRouter> {
  return createTRPCClient<AppRouter>({ links: [httpLink({ url: `${baseUrl}/trpc`, fetch: f, headers })] });
}

/** An open `/stream/<jobId>` socket and what it received. */
export interface StreamReader {
  readonly ws: WebSocket;
  /** Parsed messages, in arrival order. */
  readonly messages: StreamMessage[];
  /** Arrival time (ms, performance.now) of each message. */
  readonly times: number[];
  /** Resolves when the socket closes. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the first message matching `pred`. */
  waitFor(pred: (m: StreamMessage) => boolean, timeoutMs?: number): Promise<StreamMessage>;
  /** Resolves once the stdout received so far contains `text` (output may arrive in any split). */
  waitForStdout(text: string, timeoutMs?: number): Promise<void>;
  /** When (performance.now) the received stdout first contained `text`, or NaN. */
  timeOfStdout(text: string): number;
}

/** Connects to `ws(s)://…/stream/<jobId>` (with `headers`, e.g. a cookie) and records every message. Throws on an invalid one. */
export function openStream(baseUrl: string, jobId: string, headers: Record<string, string> = {}): StreamReader {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/stream/${jobId}`, { headers });
  const { messages, times, closed, waitFor } = recordSocket(ws, streamMessageSchema, 30_000);
  const timeOfStdout = (text: string): number => {
    for (let i = 0; i < messages.length; i++) if (stdoutOf(messages.slice(0, i + 1)).includes(text)) return times[i] ?? NaN;
    return NaN;
  };
  const waitForStdout = async (text: string, timeoutMs?: number): Promise<void> => {
    await waitFor((m) => m.type === 'event' && stdoutOf(messages.slice(0, messages.indexOf(m) + 1)).includes(text), timeoutMs);
  };
  return { ws, messages, times, closed, waitFor, waitForStdout, timeOfStdout };
}

/** Concatenated stdout of the received events. */
export function stdoutOf(messages: readonly StreamMessage[]): string {
  return messages.map((m) => (m.type === 'event' && m.event.type === 'stdout' ? m.event.data : '')).join('');
}

/** Kinds of the received messages, events shown by their event type. */
export function kindsOf(messages: readonly StreamMessage[]): string[] {
  return messages.map((m) => (m.type === 'event' ? m.event.type : m.type));
}
