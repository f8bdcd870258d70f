/**
 * A scripted HTTP stand-in for the sandbox, on port 0, for unit tests of the
 * sandbox client and the whole gateway without VMs.
 * @module
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the fake received. */
export interface FakeRequest {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  readonly raw: IncomingMessage;
}

/** Answers one request; may stream for as long as it likes. */
export type FakeHandler = (req: FakeRequest, res: ServerResponse) => void | Promise<void>;

/** A running fake sandbox. */
export interface FakeSandboxServer extends AsyncDisposable {
  readonly url: string;
  readonly server: Server;
  /** Every request but `GET /healthz` (which gateways also send by themselves, to learn the sandbox's slots). */
  readonly requests: FakeRequest[];
  readonly healthRequests: FakeRequest[];
  handler: FakeHandler;
  close(): Promise<void>;
}

/** Options of {@link startFakeSandboxServer}. */
export interface FakeSandboxOptions {
  /** Answer 401 `unauthorized`, as the real sandbox does, unless `Authorization: Bearer <token>` is sent. */
  readonly token?: string;
  /** Listen on this Unix socket instead of 127.0.0.1 (`url` is then `unix:<path>`). */
  readonly socketPath?: string;
}

/** Starts the fake on 127.0.0.1 and a free port. */
export async function startFakeSandboxServer(handler: FakeHandler, o: FakeSandboxOptions = {}): Promise<FakeSandboxServer> {
  const requests: FakeRequest[] = [];
  const healthRequests: FakeRequest[] = [];
  const fake: { handler: FakeHandler } = { handler };
  const server = createServer((raw, res) => {
    const chunks: Buffer[] = [];
    raw.on('data', (c: Buffer) => chunks.push(c));
    raw.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const req: FakeRequest = { method: raw.method ?? '', path: raw.url ?? '', body: text ? (JSON.parse(text) as unknown) : undefined, raw };
      if (o.token !== undefined && raw.headers.authorization !== `Bearer ${o.token}`) {
        return sendError(res, 401, { code: 'unauthorized', message: 'no Authorization header' });
      }
      (req.path === '/healthz' ? healthRequests : requests).push(req);
      Promise.resolve(fake.handler(req, res)).catch(() => res.destroy());
    });
  });
  if (o.socketPath !== undefined) {
    const path = o.socketPath;
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const close = async (): Promise<void> => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    };
    return Object.assign(fake, { url: `unix:${path}`, server, requests, healthRequests, close, [Symbol.asyncDispose]: close });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return Object.assign(fake, { url: `http://127.0.0.1:${port}`, server, requests, healthRequests, close, [Symbol.asyncDispose]: close });
}

/** Writes the headers of a streamed `POST /run` answer. */
export function startNdjson(res: ServerResponse, jobId: string): void {
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'X-Job-Id': jobId });
  res.flushHeaders();
}

/** Writes one NDJSON line. */
export function writeEvent(res: ServerResponse, event: object): void {
  res.write(`${JSON.stringify(event)}\n`);
}

/** Answers with a JSON error body `{ error: { code, message } }`. */
export function sendError(res: ServerResponse, status: number, error: { code: string; message: string }): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error }));
}
