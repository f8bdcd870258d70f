/**
 * The host side of a fake vsock device, after Firecracker's Unix-socket muxer
 * (vmm.md section 4): `uds_path` is bound when configured; a host connection sends
 * `CONNECT <port>\n` in one write and gets `OK <hostport>\n` only when the (fake) guest
 * listens on that port, otherwise the connection is closed without a reply.
 * @module
 */
import { createServer, type Server, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';

/** The guest side of an accepted connection. */
export type FakeGuestHandler = (socket: Socket, port: number) => void;

/** First host port Firecracker hands out (2^30). */
const FIRST_HOST_PORT = 2 ** 30;
/** Firecracker reads the request line into a 32-byte buffer. */
const MAX_CONNECT_LINE_BYTES = 32;
/** Firecracker kills a host connection the guest has not answered within 2 s. */
const GUEST_ANSWER_TIMEOUT_MS = 2_000;
const CONNECT_LINE = /^connect (\d+)$/i;

/** Echoes every byte back: the default fake guest. */
export const echoGuest: FakeGuestHandler = (socket) => {
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => socket.write(chunk));
  socket.on('end', () => socket.end());
};

/** Options of {@link FakeVsockMuxer.bind}. */
export interface FakeVsockMuxerOptions {
  /** Absolute path to bind (Firecracker resolves `uds_path` against its cwd). */
  readonly path: string;
  readonly onGuestConnection: FakeGuestHandler;
}

/** One bound vsock device. */
export class FakeVsockMuxer {
  /** Ports the guest listens on. */
  readonly listening = new Set<number>();
  readonly #server: Server;
  readonly #path: string;
  readonly #onGuestConnection: FakeGuestHandler;
  readonly #sockets = new Set<Socket>();
  readonly #waiters = new Set<() => void>();
  #running = false;
  #nextHostPort = FIRST_HOST_PORT;

  private constructor(server: Server, opts: FakeVsockMuxerOptions) {
    this.#server = server;
    this.#path = opts.path;
    this.#onGuestConnection = opts.onGuestConnection;
    server.on('connection', (socket) => this.#handleConnection(socket));
  }

  /** Binds the path; rejects with EADDRINUSE when it exists, as Firecracker does. */
  static async bind(opts: FakeVsockMuxerOptions): Promise<FakeVsockMuxer> {
    const server = createServer({ allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new FakeVsockMuxer(server, opts);
  }

  /** Whether vCPUs run (connections wait while the VM is not started or paused). */
  setRunning(running: boolean): void {
    this.#running = running;
    if (running) for (const wake of [...this.#waiters]) wake();
  }

  /** Closes every established connection (snapshot creation resets the transport). */
  resetConnections(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Unbinds the path and drops every connection. */
  async close(): Promise<void> {
    this.resetConnections();
    for (const wake of [...this.#waiters]) wake();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await rm(this.#path, { force: true });
  }

  #handleConnection(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      const newline = chunk.indexOf(0x0a);
      // Firecracker does a single non-blocking read: the line must arrive whole, in one write.
      if (newline < 0 || newline >= MAX_CONNECT_LINE_BYTES) {
        socket.destroy();
        return;
      }
      const match = CONNECT_LINE.exec(chunk.subarray(0, newline).toString('latin1'));
      if (!match) {
        socket.destroy();
        return;
      }
      const rest = chunk.subarray(newline + 1);
      if (rest.length > 0) socket.unshift(rest);
      void this.#connect(socket, Number(match[1]));
    });
  }

  async #connect(socket: Socket, port: number): Promise<void> {
    if (!this.#running) await this.#waitRunning(GUEST_ANSWER_TIMEOUT_MS);
    if (socket.destroyed) return;
    if (!this.#running || !this.listening.has(port)) {
      // The guest answered with RST (or not at all): Firecracker just closes the stream.
      socket.destroy();
      return;
    }
    socket.write(`OK ${this.#nextHostPort++}\n`);
    this.#onGuestConnection(socket, port);
    socket.resume();
  }

  #waitRunning(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      this.#waiters.add(wake);
    });
  }
}
