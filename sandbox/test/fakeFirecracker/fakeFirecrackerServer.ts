/**
 * A fake Firecracker API server on a Unix socket, faithful to the framing quirks of
 * Firecracker's micro-http (vmm.md section 1): bodies only by Content-Length (a chunked
 * request counts as having no body), at most 10 connections (the 11th gets 503 and is
 * closed), bodies up to 51200 bytes, only GET/PUT/PATCH/DELETE, no reason phrase in
 * the status line, 204 without a body. Request semantics live in {@link FakeVmm}.
 *
 * Used in-process by unit tests and as a process by fake-firecracker.ts.
 * @module
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { FakeVmm, type FakeGuestOptions, type FakeResponse } from './fakeVmm.js';

/** micro-http's limits. */
export const MAX_CONNECTIONS = 10;
export const MAX_PAYLOAD_BYTES = 51_200;
const METHODS = new Set(['GET', 'PUT', 'PATCH', 'DELETE']);
const DROPPED = '\nAll previous unanswered requests will be dropped.';

/** Options of {@link startFakeFirecracker}. */
export interface FakeFirecrackerOptions {
  /** Where to bind the API socket. Binding fails if the path exists, as in Firecracker. */
  readonly apiSockPath: string;
  /** @default 'anonymous-instance' */
  readonly id?: string;
  /** Reported by `GET /version`; gates `/snapshot/load` fields. @default '1.16.1' */
  readonly version?: string;
  /** Firecracker's cwd, for relative paths in bodies. @default process.cwd() */
  readonly cwd?: string;
  readonly guest?: FakeGuestOptions;
  /** Delay before each response is sent (to test client timeouts). @default 0 */
  readonly responseDelayMs?: number;
  /** Simulates a VMM crash: exit(1) without replying when a request for this path arrives. */
  readonly crashOnPath?: string;
  /** Serial console and log lines. */
  readonly console?: (line: string) => void;
  /**
   * The real process would exit (failed snapshot load, guest reboot, crash). Default:
   * the fake closes itself, and {@link FakeFirecracker.exited} resolves with the code.
   */
  readonly onExit?: (code: number, reason: string) => void;
}

/** One request as the fake saw it (for assertions). */
export interface FakeRequestRecord {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string | undefined;
}

/** A running fake. */
export interface FakeFirecracker {
  readonly vmm: FakeVmm;
  readonly requests: readonly FakeRequestRecord[];
  /** Most requests ever being handled at once (Firecracker serializes them). */
  readonly peakInFlight: number;
  readonly openConnections: number;
  /** Resolves with the exit code once the fake "exits" (when no `onExit` was given). */
  readonly exited: Promise<number>;
  close(): Promise<void>;
}

/** Starts a fake Firecracker API server. */
export async function startFakeFirecracker(opts: FakeFirecrackerOptions): Promise<FakeFirecracker> {
  const sockets = new Set<Socket>();
  const requests: FakeRequestRecord[] = [];
  let inFlight = 0;
  let peakInFlight = 0;
  let closing: Promise<void> | undefined;
  let resolveExited: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolveFn) => (resolveExited = resolveFn));

  const exit = (code: number, reason: string): void => {
    if (opts.onExit) return opts.onExit(code, reason);
    void close().then(() => resolveExited(code));
  };
  const vmm = new FakeVmm({
    id: opts.id ?? 'anonymous-instance',
    version: opts.version ?? '1.16.1',
    cwd: opts.cwd ?? process.cwd(),
    ...(opts.guest ? { guest: opts.guest } : {}),
    ...(opts.console ? { console: opts.console } : {}),
    onExit: exit,
  });

  const http = createHttpServer({ requireHostHeader: false, keepAliveTimeout: 0 }, (req, res) => {
    inFlight += 1;
    peakInFlight = Math.max(peakInFlight, inFlight);
    void handleRequest({ req, res, vmm, opts, requests, exit }).finally(() => (inFlight -= 1));
  });
  http.on('clientError', (_err, socket) => {
    writeRaw(socket, 400, { error: `Invalid request.${DROPPED}` });
  });

  const net = createNetServer((socket) => {
    if (sockets.size >= MAX_CONNECTIONS) {
      writeRaw(socket, 503, { error: 'Too many open connections' });
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    http.emit('connection', socket);
  });
  await new Promise<void>((resolve, reject) => {
    net.once('error', reject);
    net.listen(opts.apiSockPath, () => {
      net.off('error', reject);
      resolve();
    });
  });

  function close(): Promise<void> {
    closing ??= (async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => net.close(() => resolve()));
      http.close();
      await vmm.close();
      await rm(opts.apiSockPath, { force: true });
    })();
    return closing;
  }

  return {
    vmm,
    requests,
    get peakInFlight() {
      return peakInFlight;
    },
    get openConnections() {
      return sockets.size;
    },
    exited,
    close,
  };
}

async function handleRequest(ctx: {
  req: IncomingMessage;
  res: ServerResponse;
  vmm: FakeVmm;
  opts: FakeFirecrackerOptions;
  requests: FakeRequestRecord[];
  exit: (code: number, reason: string) => void;
}): Promise<void> {
  const { req, res, opts } = ctx;
  const method = req.method ?? '';
  if (!METHODS.has(method)) {
    req.resume();
    return send(res, { status: 400, body: { error: `Invalid HTTP Method.${DROPPED}` } }, { close: true });
  }
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > MAX_PAYLOAD_BYTES) {
    req.resume();
    const error = `Request payload with size ${length} is larger than the limit of ${MAX_PAYLOAD_BYTES} allowed by server.`;
    return send(res, { status: 400, body: { error: `${error}${DROPPED}` } }, { close: true });
  }
  const raw = await readBody(req);
  // micro-http reads a body only by Content-Length. A chunked request has no body for it,
  // and the chunk bytes are parsed as the next request, which fails and drops the
  // connection: answer as for a body-less request, then close.
  const chunked = req.headers['transfer-encoding'] !== undefined;
  const body = chunked || length === 0 ? undefined : raw;
  ctx.requests.push({ method, path: req.url ?? '/', headers: req.headers, body });
  if (opts.crashOnPath !== undefined && (req.url ?? '').startsWith(opts.crashOnPath)) {
    opts.console?.(`fake firecracker: crashing on ${method} ${req.url ?? ''}`);
    ctx.exit(1, `crash on ${req.url ?? ''}`);
    return;
  }
  const reply = await ctx.vmm.handle(method, req.url ?? '/', body);
  if (opts.responseDelayMs) await new Promise((resolve) => setTimeout(resolve, opts.responseDelayMs));
  send(res, reply, { close: chunked });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Writes a response the way micro-http does: no reason phrase, no Date, 204 without body. */
function send(res: ServerResponse, reply: FakeResponse, opts: { close: boolean }): void {
  if (res.destroyed) return;
  res.sendDate = false;
  res.setHeader('Server', 'Firecracker API');
  res.setHeader('Connection', opts.close ? 'close' : 'keep-alive');
  if (reply.status === 204 || reply.body === undefined) {
    res.writeHead(204, '');
    res.end(() => reply.afterSend?.());
    return;
  }
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, '', {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text, () => reply.afterSend?.());
}

/** A response written straight to a socket that HTTP never sees, then closed. */
function writeRaw(socket: Duplex, status: number, body: unknown): void {
  if (socket.destroyed) return;
  socket.on('error', () => undefined);
  const text = JSON.stringify(body);
  socket.write(
    `HTTP/1.1 ${status} \r\nServer: Firecracker API\r\nConnection: close\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
  socket.end();
}
