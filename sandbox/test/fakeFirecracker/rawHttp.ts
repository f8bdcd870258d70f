/**
 * Byte-level HTTP over a Unix socket, for tests that must send what node:http never
 * would (chunked bodies on purpose, raw request lines) or see the exact status line.
 * @module
 */
import { createConnection, type Socket } from 'node:net';

/** One parsed response. */
export interface RawResponse {
  /** e.g. `HTTP/1.1 204 ` (no reason phrase from Firecracker). */
  readonly statusLine: string;
  readonly status: number;
  /** Lower-cased header names. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

/** Opens a connection to a Unix socket. */
export function connectUnix(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Reads one response from `socket` (Content-Length framed, or until close). */
export function readResponse(socket: Socket, timeoutMs = 2_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let data = Buffer.alloc(0);
    const timer = setTimeout(
      () => finish(new Error(`no complete response within ${timeoutMs} ms: ${data.toString()}`)),
      timeoutMs,
    );
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) return reject(err);
      const parsed = parse(data, true);
      if (parsed) resolve(parsed);
      else reject(new Error(`connection closed before a response: ${JSON.stringify(data.toString())}`));
    };
    const onData = (chunk: Buffer): void => {
      data = Buffer.concat([data, chunk]);
      if (parse(data, false)) finish();
    };
    const onClose = (): void => finish();
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** Connects, writes `request` verbatim, reads one response, closes. */
export async function rawRequest(path: string, request: string): Promise<RawResponse> {
  const socket = await connectUnix(path);
  try {
    const response = readResponse(socket);
    socket.write(request);
    return await response;
  } finally {
    socket.destroy();
  }
}

function parse(data: Buffer, closed: boolean): RawResponse | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const status = Number(statusLine.split(' ')[1]);
  const body = data.subarray(end + 4);
  const length = headers.get('content-length');
  if (length !== undefined && body.length < Number(length)) return undefined;
  if (length === undefined && status !== 204 && !closed) return undefined;
  return {
    statusLine,
    status,
    headers,
    body: body.subarray(0, length === undefined ? undefined : Number(length)).toString('utf8'),
  };
}
