import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { SocketOutbox } from './SocketOutbox.js';

/** A socket that takes what it is sent (its buffer drains as the test says). */
function fakeSocket(): { ws: WebSocket; sent: string[] } {
  const sent: string[] = [];
  let buffered = 0;
  const ws = {
    readyState: WebSocket.OPEN,
    get bufferedAmount() {
      return buffered;
    },
    send: (text: string) => {
      sent.push(text);
      buffered += text.length;
    },
  } as unknown as WebSocket;
  return { ws, sent };
}

describe('SocketOutbox', () => {
  it('writes the live messages of one tick together, corked, in order', async () => {
    const s = fakeSocket();
    let corked = 0;
    const socket = { cork: () => void corked++, uncork: () => void corked-- };
    const outbox = new SocketOutbox({ ws: s.ws, maxBufferedBytes: 1 << 20, socket });
    outbox.pushLive({ n: 1 });
    outbox.pushLive({ n: 2 });
    expect(s.sent).toEqual([]);
    await new Promise((r) => process.nextTick(r));
    expect(s.sent).toEqual(['{"n":1}', '{"n":2}']);
    expect(corked).toBe(0);
  });

  it("does not call a peer slow for one tick's output that its empty socket has not been offered yet", async () => {
    const s = fakeSocket();
    const outbox = new SocketOutbox({ ws: s.ws, maxBufferedBytes: 1_000 });
    for (let i = 0; i < 10; i++) outbox.pushLive({ data: 'x'.repeat(300) });
    expect(outbox.overflowing).toBe(false);
    await new Promise((r) => process.nextTick(r));
    // The socket took what fit (its cap); what waits behind a full socket counts.
    expect(s.sent.length).toBeGreaterThan(0);
    for (let i = 0; i < 10; i++) outbox.pushLive({ data: 'y'.repeat(300) });
    expect(outbox.overflowing).toBe(true);
  });
});
