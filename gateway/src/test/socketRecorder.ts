/**
 * Records the JSON messages of a test WebSocket, each checked by a schema, and
 * waits for the first one matching a predicate. Shared by the `/stream/<jobId>`
 * and page socket test clients.
 * @module
 */
import { WebSocket } from 'ws';
import type { z } from 'zod';

export interface SocketRecorder<T> {
  /** Parsed messages, in arrival order. */
  readonly messages: T[];
  /** Arrival time (ms, performance.now) of each message. */
  readonly times: number[];
  /** Resolves when the socket closes. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the first message matching `pred` (received already or coming). */
  readonly waitFor: (pred: (m: T) => boolean, timeoutMs?: number) => Promise<T>;
  /** Resolves once `cond()` holds, checked now and after each message (once per message, unlike waitFor's scan of all). */
  readonly waitUntil: (cond: () => boolean, timeoutMs?: number) => Promise<void>;
}

/** Starts recording `ws`; a message that fails `schema` makes every wait fail. */
export function recordSocket<S extends z.ZodType>(ws: WebSocket, schema: S, defaultTimeoutMs: number): SocketRecorder<z.infer<S>> {
  type T = z.infer<S>;
  const messages: T[] = [];
  const times: number[] = [];
  const waiters = new Set<() => void>();
  let parseError: Error | null = null;
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  ws.on('message', (data: Buffer) => {
    // When it arrived, before this side's own parsing and checking (benchmarks time the sender, not the recorder).
    const at = performance.now();
    const parsed = schema.safeParse(JSON.parse(data.toString('utf8')));
    if (!parsed.success) parseError = new Error(`invalid message: ${data.toString('utf8').slice(0, 200)}`);
    else {
      messages.push(parsed.data);
      times.push(at);
    }
    wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString('utf8') });
      wake();
    });
  });
  ws.on('error', () => undefined);
  const waitFor = (pred: (m: T) => boolean, timeoutMs = defaultTimeoutMs): Promise<T> =>
    waitOn(() => messages.find(pred), timeoutMs);
  const waitUntil = async (cond: () => boolean, timeoutMs = defaultTimeoutMs): Promise<void> => {
    await waitOn(() => (cond() ? true : undefined), timeoutMs);
  };
  /** Resolves with the first value `probe` gives that is not undefined, probing now and after each message. */
  const waitOn = <V>(probe: () => V | undefined, timeoutMs: number): Promise<V> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (parseError) return done(() => reject(parseError));
        const hit = probe();
        if (hit !== undefined) return done(() => resolve(hit));
        if (ws.readyState === WebSocket.CLOSED) done(() => reject(new Error(`socket closed before the awaited message; got ${JSON.stringify(messages).slice(-800)}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`timed out; got ${JSON.stringify(messages).slice(-800)}`))), timeoutMs);
      const done = (f: () => void): void => {
        clearTimeout(timer);
        waiters.delete(check);
        f();
      };
      waiters.add(check);
      check();
    });
  return { messages, times, closed, waitFor, waitUntil };
}
