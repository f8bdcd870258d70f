/**
 * The send side of one server WebSocket with flow control: messages are
 * handed to `ws` only while it has less than the cap unsent; the rest wait in
 * order and go out as writes complete. Live messages are serialised at once
 * (their size counts against the cap: a peer whose live backlog passes it is
 * reported as too slow); replayed ones lazily (the run holds them anyway).
 * Shared by `ws /stream/<jobId>` and the page's `ws /stream` socket.
 *
 * Live messages go out together once the current tick's work is done: a
 * run's `accepted`, its hello and the events that came in one chunk from the
 * sandbox leave in one write (with `socket` corked) instead of one system
 * call each, and after the request to the sandbox that the same tick started
 * (issue 12's first-output budget: a write costs ~0.1 ms on this host).
 * @module
 */
import { WebSocket } from 'ws';

interface Outgoing {
  readonly msg: unknown;
  /** Set for live messages (their size counts), null for the replay (serialised when sent). */
  text: string | null;
}

/** Options of {@link SocketOutbox}. */
export interface SocketOutboxOptions {
  readonly ws: WebSocket;
  /** STREAM_MAX_BUFFERED_BYTES: unsent bytes allowed in `ws`, and of live messages waiting behind it. */
  readonly maxBufferedBytes: number;
  /** Told when everything queued was handed to the socket. */
  readonly onEmpty?: () => void;
  /** The connection under `ws` (from the upgrade): corked while a batch is handed to `ws`, so it is written at once. */
  readonly socket?: { cork(): void; uncork(): void };
}

export class SocketOutbox {
  readonly #o: SocketOutboxOptions;
  readonly #outgoing: Outgoing[] = [];
  #pendingLiveBytes = 0;
  #stopped = false;
  #flushScheduled = false;
  /** Live bytes queued since the last flush began: not yet offered to the socket, so not the peer's backlog. */
  #unofferedBytes = 0;

  constructor(options: SocketOutboxOptions) {
    this.#o = options;
  }

  /** Bytes of live messages waiting (not yet handed to the socket). */
  get pendingLiveBytes(): number {
    return this.#pendingLiveBytes;
  }

  /** True when nothing waits. */
  get empty(): boolean {
    return this.#outgoing.length === 0;
  }

  /** True when live messages waiting behind a full socket passed the cap: the peer does not keep up. */
  get overflowing(): boolean {
    return this.#pendingLiveBytes - this.#unofferedBytes > this.#o.maxBufferedBytes;
  }

  /** Queues a replayed message (serialised when it is sent). */
  pushReplay(msg: unknown): void {
    if (this.#stopped) return;
    this.#outgoing.push({ msg, text: null });
  }

  /** Queues a live message; it is sent with the others of this tick (see the module's note). */
  pushLive(msg: unknown): void {
    if (this.#stopped) return;
    const text = JSON.stringify(msg);
    this.#outgoing.push({ msg, text });
    this.#pendingLiveBytes += text.length;
    this.#unofferedBytes += text.length;
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // After the promise jobs of this tick (the events of one sandbox chunk are
    // relayed in them) and after the ticks queued before (a request just started).
    process.nextTick(() => {
      this.#flushScheduled = false;
      this.flush();
    });
  }

  /** Hands queued messages to the socket, in one write, while it has less than the cap unsent; resumes as writes complete. */
  flush(): void {
    const { ws, socket } = this.#o;
    this.#unofferedBytes = 0;
    socket?.cork();
    try {
      while (this.#outgoing.length > 0 && !this.#stopped && ws.readyState === WebSocket.OPEN && ws.bufferedAmount < this.#o.maxBufferedBytes) {
        const item = this.#outgoing.shift();
        if (!item) break;
        const text = item.text ?? JSON.stringify(item.msg);
        if (item.text !== null) this.#pendingLiveBytes -= item.text.length;
        ws.send(text, (err) => {
          if (!err && this.#outgoing.length > 0) this.flush();
        });
      }
    } finally {
      socket?.uncork();
    }
    if (this.#outgoing.length === 0 && !this.#stopped) this.#o.onEmpty?.();
  }

  /** Drops everything waiting and sends nothing more (the socket is closing). */
  stop(): void {
    this.#stopped = true;
    this.#outgoing.length = 0;
    this.#pendingLiveBytes = 0;
    this.#unofferedBytes = 0;
  }
}
