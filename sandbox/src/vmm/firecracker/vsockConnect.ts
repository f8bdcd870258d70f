/**
 * Host-initiated vsock connections through Firecracker's Unix-socket muxer
 * (vmm.md section 4): connect to `uds_path`, send `CONNECT <port>\n` in one write,
 * read `OK <hostport>\n`, then the socket is a byte stream to the guest port.
 * @module
 */
import { createConnection, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { CodeCellError } from '@codecell/protocol';

/** vsock port the guest agent listens on. */
export const AGENT_VSOCK_PORT = 1024;
/** Default overall deadline of {@link vsockConnect}. */
export const VSOCK_CONNECT_TIMEOUT_MS = 20_000;
/** Firecracker kills a connection the guest has not answered within 2000 ms; allow a little more. */
const HANDSHAKE_TIMEOUT_MS = 2_500;
const RETRY_INITIAL_MS = 10;
const RETRY_MAX_MS = 200;
/** `OK 2147483647\n` is 14 bytes; anything longer without a newline is not Firecracker. */
const MAX_REPLY_LINE_BYTES = 64;
const OK_LINE = /^OK (\d+)$/;

/** Options of {@link vsockConnect}. */
export interface VsockConnectOptions {
  /** Host path of the vsock device's `uds_path`. */
  readonly udsPath: string;
  /** Guest vsock port. */
  readonly port: number;
  /** Overall deadline, retries included. @default VSOCK_CONNECT_TIMEOUT_MS */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** One failed attempt; `retryable` when the guest listener may simply not be up yet. */
class AttemptError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/**
 * Opens a connection to a guest vsock port, retrying with backoff while nobody listens
 * yet (Firecracker then closes the connection without `OK`). Bytes that arrive in the
 * same read as the `OK` line are put back into the returned socket.
 *
 * @throws CodeCellError `vm_boot_failed` when the deadline passes; the signal's reason on abort.
 * @example
 * const socket = await vsockConnect({ udsPath: '/srv/vm1/v.sock', port: AGENT_VSOCK_PORT });
 */
export async function vsockConnect(opts: VsockConnectOptions): Promise<Socket> {
  const timeoutMs = opts.timeoutMs ?? VSOCK_CONNECT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let delayMs = RETRY_INITIAL_MS;
  let attempts = 0;
  for (;;) {
    opts.signal?.throwIfAborted();
    attempts += 1;
    const remainingMs = deadline - Date.now();
    let lastError: AttemptError;
    try {
      return await attemptConnect(opts, Math.max(1, Math.min(HANDSHAKE_TIMEOUT_MS, remainingMs)));
    } catch (err) {
      if (!(err instanceof AttemptError)) throw err;
      if (!err.retryable) {
        throw new CodeCellError(
          'vm_boot_failed',
          `vsock CONNECT ${opts.port} via ${opts.udsPath}: ${err.message}`,
        );
      }
      lastError = err;
    }
    if (Date.now() + delayMs >= deadline) {
      throw new CodeCellError(
        'vm_boot_failed',
        `vsock: no guest listener on port ${opts.port} via ${opts.udsPath} within ${timeoutMs} ms ` +
          `(${attempts} attempts, last: ${lastError.message})`,
      );
    }
    try {
      await sleep(delayMs, undefined, opts.signal ? { signal: opts.signal } : {});
    } catch (err) {
      throw opts.signal?.aborted ? opts.signal.reason : err;
    }
    delayMs = Math.min(delayMs * 2, RETRY_MAX_MS);
  }
}

/** Retryable connect errors: socket not bound yet, or bound but not accepting. */
const RETRYABLE_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EAGAIN']);

function attemptConnect(opts: VsockConnectOptions, handshakeTimeoutMs: number): Promise<Socket> {
  const { signal } = opts;
  return new Promise<Socket>((resolve, reject) => {
    const socket = createConnection(opts.udsPath);
    let received = Buffer.alloc(0);
    let settled = false;

    const cleanup = (): void => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('connect', onConnect);
      socket.off('readable', onReadable);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    const fail = (err: unknown): void => {
      if (settled) return;
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(signal?.reason);
    const onConnect = (): void => {
      // One write: Firecracker reads the request line once from a non-blocking socket.
      socket.write(`CONNECT ${opts.port}\n`);
    };
    const onClose = (): void => fail(new AttemptError('connection closed without OK', true));
    const onError = (err: NodeJS.ErrnoException): void => {
      fail(new AttemptError(err.code ?? err.message, RETRYABLE_CODES.has(err.code ?? '')));
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while (!settled && (chunk = socket.read() as Buffer | null) !== null) {
        received = Buffer.concat([received, chunk]);
        const newline = received.indexOf(0x0a);
        if (newline < 0) {
          if (received.length > MAX_REPLY_LINE_BYTES) fail(new AttemptError('reply line too long', false));
          continue;
        }
        const line = received.subarray(0, newline).toString('latin1');
        if (!OK_LINE.test(line)) {
          fail(new AttemptError(`unexpected reply ${JSON.stringify(line)}`, false));
          return;
        }
        const rest = received.subarray(newline + 1);
        cleanup();
        // Removing our 'readable' listener returns the stream to its initial mode, so the
        // caller's 'data' listener or pipe() starts the flow; leftover bytes are read first.
        if (rest.length > 0) socket.unshift(rest);
        resolve(socket);
        return;
      }
    };
    const timer = setTimeout(
      () => fail(new AttemptError(`no reply within ${handshakeTimeoutMs} ms`, true)),
      handshakeTimeoutMs,
    );

    if (signal?.aborted) {
      fail(signal.reason);
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', onConnect);
    socket.on('readable', onReadable);
    socket.once('close', onClose);
    socket.on('error', onError);
  });
}
