import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GATEWAY_PROTOCOL_VERSION } from '@codecell/protocol';
import type { StreamClientMessage, StreamServerMessage } from '@codecell/protocol';
import { PageSocket } from './pageSocket';
import type { RunStreamHandlers, StreamSocket } from './runStream';

class FakeSocket implements StreamSocket {
  onopen: StreamSocket['onopen'] = null;
  onmessage: StreamSocket['onmessage'] = null;
  onclose: StreamSocket['onclose'] = null;
  onerror: StreamSocket['onerror'] = null;
  /** What the page sent, parsed. */
  readonly sent: StreamClientMessage[] = [];
  send(data: string): void {
    this.sent.push(JSON.parse(data) as StreamClientMessage);
  }
  /** A message from the gateway. */
  receive(msg: StreamServerMessage): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  drop(): void {
    this.onclose?.({ code: 1006, reason: '' });
  }
  close(): void {}
}

function setup() {
  const sockets: FakeSocket[] = [];
  const refused = vi.fn();
  const socket = new PageSocket({
    url: 'ws://gw/stream',
    reconnectDelaysMs: [10],
    onRefused: refused,
    createSocket: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
  });
  const ready = (i = sockets.length - 1) => sockets[i]!.receive({ type: 'ready', protocolVersion: GATEWAY_PROTOCOL_VERSION });
  return { socket, sockets, ready, refused };
}

const handlers = () => ({
  onMessage: vi.fn<RunStreamHandlers['onMessage']>(),
  onReconnecting: vi.fn<RunStreamHandlers['onReconnecting']>(),
  onGone: vi.fn<RunStreamHandlers['onGone']>(),
  onProtocolError: vi.fn<RunStreamHandlers['onProtocolError']>(),
});
const hello = { type: 'hello', protocolVersion: GATEWAY_PROTOCOL_VERSION, jobId: 'j1', startedBy: null, truncated: false } as const;

describe('PageSocket', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('starts a run with one message, and hands the run its messages without a watch round trip', async () => {
    const { socket, sockets, ready } = setup();
    const started = socket.run({ source: 'print(1)', tty: { cols: 80, rows: 24 } });
    ready();
    const sent = sockets[0]!.sent[0];
    expect(sent).toMatchObject({ type: 'run', input: { source: 'print(1)', tty: { cols: 80, rows: 24 } } });
    const ref = sent?.type === 'run' ? sent.ref : '';
    sockets[0]!.receive({ type: 'accepted', ref, jobId: 'j1', position: 0 });
    sockets[0]!.receive({ type: 'job', jobId: 'j1', message: hello });
    expect(await started).toEqual({ jobId: 'j1', position: 0 });
    const h = handlers();
    socket.watch('j1', h);
    sockets[0]!.receive({ type: 'job', jobId: 'j1', message: { type: 'event', seq: 0, event: { type: 'stdout', data: 'x' } } });
    expect(h.onMessage.mock.calls.map((c) => c[0].type)).toEqual(['hello', 'event']);
    // The gateway watches it already: no watch message was sent.
    expect(sockets[0]!.sent.map((m) => m.type)).toEqual(['run']);
  });

  it('rejects a refused request with its code, and reports refusals about a job', async () => {
    const { socket, sockets, ready, refused } = setup();
    ready();
    const started = socket.terminal({ roomId: 'r', program: 'bash', size: { cols: 80, rows: 24 } });
    const sent = sockets[0]!.sent[0];
    sockets[0]!.receive({ type: 'refused', ref: sent?.type === 'terminal' ? sent.ref : '', jobId: null, code: 'forbidden', message: 'runner needed' });
    await expect(started).rejects.toMatchObject({ name: 'PageSocketError', code: 'forbidden' });
    socket.stdin('j9', 'x');
    sockets[0]!.receive({ type: 'refused', ref: null, jobId: 'j9', code: 'forbidden', message: 'no typing' });
    expect(refused).toHaveBeenCalledWith({ jobId: 'j9', code: 'forbidden', message: 'no typing' });
  });

  it('watches everything again after a reconnect, and says the gateway is unreachable while it is', async () => {
    const { socket, sockets, ready } = setup();
    ready();
    const h = handlers();
    socket.watch('j1', h);
    socket.followTerminals('room', () => undefined);
    sockets[0]!.drop();
    expect(h.onReconnecting).toHaveBeenCalledWith(1);
    await expect(socket.run({ source: '' })).rejects.toMatchObject({ code: 'gateway_unreachable' });
    vi.advanceTimersByTime(10);
    ready(1);
    expect(sockets[1]!.sent).toEqual([
      { type: 'watch', jobId: 'j1' },
      { type: 'terminals', roomId: 'room' },
    ]);
    sockets[1]!.receive({ type: 'gone', jobId: 'j1', code: 'not_found', message: 'expired' });
    expect(h.onGone).toHaveBeenCalledWith('expired');
  });

  it('sends keystrokes typed while connecting once the socket is open, in order', () => {
    const { socket, sockets, ready } = setup();
    for (const k of ['a', 'b', '\r']) socket.stdin('j1', k);
    socket.resize('j1', { cols: 100, rows: 30 });
    expect(sockets[0]!.sent).toEqual([]);
    ready();
    expect(sockets[0]!.sent).toEqual([
      { type: 'stdin', jobId: 'j1', data: 'a' },
      { type: 'stdin', jobId: 'j1', data: 'b' },
      { type: 'stdin', jobId: 'j1', data: '\r' },
      { type: 'resize', jobId: 'j1', cols: 100, rows: 30 },
    ]);
  });
});
