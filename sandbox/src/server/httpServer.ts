/**
 * The sandbox's HTTP adapter (node:http): `POST /run` streams NDJSON run
 * events; `POST /run/<jobId>/stdin`, `POST /run/<jobId>/kill`,
 * `POST /run/<jobId>/resize`, `POST /terminal` (a terminal session, streamed
 * like a run), `GET /healthz`, `GET /runtimes`, `GET /metrics` (Prometheus;
 * the token is needed, as everywhere but /healthz).
 * The only module here that knows about HTTP.
 * @module
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { CodeCellError, resizeRequestSchema, runRequestSchema, stdinRequestSchema, terminalRequestSchema, toCodeCellError } from '@codecell/protocol';
import type { Health, RunEvent, RuntimesResponse } from '@codecell/protocol';
import type { RunService } from '../runs/RunService.js';
import type { RunJob } from '../runs/RunJob.js';
import { mergeOutput } from '../runs/mergeOutput.js';
import type { Logger } from '@codecell/server-kit';
import { parseJsonBody, readBody } from './body.js';
import { checkCaller, checkJsonBody } from './requestGuard.js';
import type { RequestGuardOptions } from './requestGuard.js';

/** Largest body of `POST /run/<jobId>/stdin`. */
export const MAX_STDIN_BODY_BYTES = 1024 * 1024 + 1024;

export interface SandboxHttpOptions extends RequestGuardOptions {
  readonly runs: RunService;
  readonly health: () => Health;
  /** The runtime table with the guest image's versions. */
  readonly runtimes: () => RuntimesResponse;
  readonly logger: Logger;
  /** Largest `POST /run` body, in bytes. */
  readonly maxRunBodyBytes: number;
  /** The Prometheus text of `GET /metrics`. */
  readonly metrics?: () => Promise<{ contentType: string; body: string }>;
}

/** Creates (but does not listen) the sandbox HTTP server. */
export function createSandboxServer(o: SandboxHttpOptions): Server {
  const server = createServer((req, res) => {
    handle(o, req, res).catch((err: unknown) => sendError(o.logger, res, err));
  });
  server.keepAliveTimeout = 5_000;
  return server;
}

const JOB_ROUTE = /^\/run\/([A-Za-z0-9_-]{1,64})\/(stdin|kill|resize)$/;
/** Largest body of `POST /terminal` and `POST /run/<jobId>/resize`. */
const MAX_SMALL_BODY_BYTES = 64 * 1024;

async function handle(o: SandboxHttpOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const receivedAt = performance.now();
  const url = new URL(req.url ?? '/', 'http://sandbox');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  // Who is calling comes first: nothing is read, parsed or run for anyone but the gateway.
  checkCaller(req, { ...o, tokenRequired: path !== '/healthz' });
  if (req.method === 'POST') checkJsonBody(req);
  if (path === '/healthz') {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed(req, 'GET');
    const h = o.health();
    return sendJson(res, h.ok ? 200 : 503, h);
  }
  if (path === '/runtimes') {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed(req, 'GET');
    return sendJson(res, 200, o.runtimes());
  }
  if (path === '/metrics' && o.metrics) {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed(req, 'GET');
    const { contentType, body } = await o.metrics();
    res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  if (path === '/run') {
    if (req.method !== 'POST') throw methodNotAllowed(req, 'POST');
    const body = parseJsonBody(await readBody(req, o.maxRunBodyBytes), runRequestSchema);
    const job = o.runs.start(body);
    return streamRun(job, res, { logger: o.logger, receivedAt });
  }
  if (path === '/terminal') {
    if (req.method !== 'POST') throw methodNotAllowed(req, 'POST');
    const body = parseJsonBody(await readBody(req, MAX_SMALL_BODY_BYTES), terminalRequestSchema);
    return streamRun(o.runs.startTerminal(body), res, { logger: o.logger, receivedAt });
  }
  const m = JOB_ROUTE.exec(path);
  if (m) {
    if (req.method !== 'POST') throw methodNotAllowed(req, 'POST');
    const job = o.runs.get(m[1] as string);
    if (m[2] === 'kill') {
      await readBody(req, MAX_SMALL_BODY_BYTES);
      job.kill();
      return sendJson(res, 202, { jobId: job.jobId, state: 'killing' });
    }
    if (m[2] === 'resize') {
      const size = parseJsonBody(await readBody(req, MAX_SMALL_BODY_BYTES), resizeRequestSchema);
      job.resize(size);
      return sendJson(res, 202, { jobId: job.jobId, ...size });
    }
    const input = parseJsonBody(await readBody(req, MAX_STDIN_BODY_BYTES), stdinRequestSchema, true);
    job.sendStdin(input.data, input.eof ?? false);
    return sendJson(res, 202, { jobId: job.jobId, bytes: Buffer.byteLength(input.data), eof: input.eof ?? false });
  }
  throw new CodeCellError('not_found', `no route ${req.method ?? ''} ${path}; routes are POST /run, POST /run/<jobId>/stdin, POST /run/<jobId>/kill, POST /run/<jobId>/resize, POST /terminal, GET /healthz, GET /runtimes, GET /metrics`);
}

function methodNotAllowed(req: IncomingMessage, allowed: string): CodeCellError {
  return new CodeCellError('method_not_allowed', `${req.method ?? ''} is not allowed here; use ${allowed}`);
}

/**
 * Writes run events as NDJSON, merging adjacent output chunks, with
 * backpressure. Once the stream ends it logs (at debug) how long after the
 * request arrived the run's first output was written: the sandbox's own time
 * to first output, which the gateway bench takes out of each run (`afterMs`,
 * from `receivedAt`, performance.now()). Logged at the end, not as the output
 * goes: the line must not reach a reader of the log while it times the output.
 */
async function streamRun(job: RunJob, res: ServerResponse, o: { logger: Logger; receivedAt: number }): Promise<void> {
  res.writeHead(200, {
    'Content-Type': 'application/x-ndjson; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Job-Id': job.jobId,
    'X-Content-Type-Options': 'nosniff',
  });
  res.flushHeaders();
  let clientGone = false;
  let firstOutputMs: number | null = null;
  res.on('close', () => {
    if (job.state !== 'finished') {
      clientGone = true;
      try {
        job.kill(); // nobody is listening any more: free the VM
      } catch {
        // already finished
      }
    }
  });
  for (;;) {
    const first = await job.events.next();
    if (first.done) break;
    const batch: RunEvent[] = [first.value];
    for (let ev = job.events.tryShift(); ev; ev = job.events.tryShift()) batch.push(ev);
    if (clientGone) continue;
    const ok = res.write(mergeOutput(batch).map((e) => `${JSON.stringify(e)}\n`).join(''));
    if (firstOutputMs === null && batch.some((e) => e.type === 'stdout' || e.type === 'stderr')) firstOutputMs = performance.now() - o.receivedAt;
    if (!ok) await new Promise<void>((r) => (res.once('drain', r), res.once('close', r)));
  }
  if (!clientGone) res.end();
  if (firstOutputMs !== null) o.logger.debug('first output', { jobId: job.jobId, afterMs: Math.round(firstOutputMs * 1000) / 1000 });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(logger: Logger, res: ServerResponse, err: unknown): void {
  const e = toCodeCellError(err);
  if (e.code === 'internal_error') logger.error('request failed', { error: e.cause instanceof Error ? e.cause.stack : e.message });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // The body may not have been read (e.g. too large): close rather than reuse the connection.
  res.setHeader('Connection', 'close');
  if (e.code === 'unauthorized') res.setHeader('WWW-Authenticate', 'Bearer realm="codecell-sandbox"');
  sendJson(res, e.httpStatus, e.toBody());
}
