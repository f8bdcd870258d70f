import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StreamMessage } from '@codecell/protocol';
import { openRunStream } from './runStream';
import type { RunStreamHandlers, StreamSocket } from './runStream';

class FakeSocket implements StreamSocket {
  onopen: StreamSocket['onopen'] = null;
  onmessage: StreamSocket['onmessage'] = null;
  onclose: StreamSocket['onclose'] = null;
  onerror: StreamSocket['onerror'] = null;
  closedWith: number | null = null;
  constructor(readonly url: string) {}
  send(msg: StreamMessage | string): void {
    this.onmessage?.({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) });
  }
  drop(code = 1006, reason = ''): void {
    this.onclose?.({ code, reason });
  }
  close(code?: number): void {
    this.closedWith = code ?? 1000;
  }
}

function setup() {
  const sockets: FakeSocket[] = [];
  const handlers = {
    onMessage: vi.fn<RunStreamHandlers['onMessage']>(),
    onReconnecting: vi.fn<RunStreamHandlers['onReconnecting']>(),
    onGone: vi.fn<RunStreamHandlers['onGone']>(),
    onProtocolError: vi.fn<RunStreamHandlers['onProtocolError']>(),
  };
  const handle = openRunStream({
    url: 'ws://gw/stream/j1',
    handlers,
    reconnectDelaysMs: [10, 20],
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
  });
  return { sockets, handlers, handle };
}

const hello: StreamMessage = { type: 'hello', protocolVersion: 1, jobId: 'j1', startedBy: null, truncated: false };

describe('openRunStream', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('parses messages and passes them on in order', () => {
    const { sockets, handlers } = setup();
    sockets[0]!.send(hello);
    sockets[0]!.send({ type: 'event', seq: 0, event: { type: 'stdout', data: 'hi' } });
    expect(handlers.onMessage.mock.calls.map((c) => c[0].type)).toEqual(['hello', 'event']);
  });

  it('reports frames that are not valid stream messages', () => {
    const { sockets, handlers } = setup();
    sockets[0]!.send('not json');
    sockets[0]!.send('{"type":"event","seq":-1}');
    sockets[0]!.send({ ...hello, protocolVersion: 99 });
    expect(handlers.onProtocolError).toHaveBeenCalledTimes(3);
    expect(handlers.onMessage).toHaveBeenCalledTimes(1);
  });

  it('reconnects with backoff after a drop, and stops after end', () => {
    const { sockets, handlers } = setup();
    sockets[0]!.drop();
    expect(handlers.onReconnecting).toHaveBeenCalledWith(1);
    vi.advanceTimersByTime(9);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    sockets[1]!.drop();
    vi.advanceTimersByTime(20);
    expect(sockets).toHaveLength(3);
    sockets[2]!.send(hello);
    sockets[2]!.send({ type: 'end', status: 'ok', code: 0, message: null });
    sockets[2]!.drop(1000);
    vi.advanceTimersByTime(1000);
    expect(sockets).toHaveLength(3);
  });

  it('gives up on an unknown job (4404)', () => {
    const { sockets, handlers } = setup();
    sockets[0]!.drop(4404, 'no such job');
    vi.advanceTimersByTime(1000);
    expect(handlers.onGone).toHaveBeenCalledWith('no such job');
    expect(sockets).toHaveLength(1);
  });

  it('close() is final and safe to call twice', () => {
    const { sockets, handlers, handle } = setup();
    sockets[0]!.drop();
    handle.close();
    handle.close();
    vi.advanceTimersByTime(1000);
    expect(sockets).toHaveLength(1);
    expect(handlers.onReconnecting).toHaveBeenCalledTimes(1);
  });
});
