/**
 * The gateway's one typed client of the sandbox service: HTTP over TCP or a Unix
 * socket, or HTTPS (Node's CA list and NODE_EXTRA_CA_CERTS) for an https://
 * address. Every call carries the sandbox's secret as `Authorization: Bearer`.
 * `POST /run` is streamed as NDJSON, one parsed RunEvent per line. Transport
 * failures, and the sandbox refusing the gateway (401/403), become
 * CodeCellError('sandbox_unavailable'); the sandbox's other 4xx errors keep
 * their code and message.
 * @module
 */
import { Agent, request } from 'node:http';
import { Agent as TlsAgent, request as tlsRequest } from 'node:https';
import { z } from 'zod';
import type { IncomingMessage } from 'node:http';
import { CodeCellError, errorBodySchema, healthSchema, runtimeInfoSchema } from '@codecell/protocol';
import type { Health, RunRequest, StdinRequest, TerminalRequest, TerminalSize } from '@codecell/protocol';
import { SecretFileError, readSecretFile } from '@codecell/server-kit';
import type { SandboxApi, SandboxRunHandle, SandboxRuntime } from './runs/ports.js';
import { describe, readRunEvents, safeJson } from './sandboxEvents.js';
import { targetOf } from './sandboxTarget.js';
import type { Target } from './sandboxTarget.js';

export { MAX_EVENT_LINE_BYTES } from './sandboxEvents.js';

export type { SandboxApi, SandboxRunHandle, SandboxRuntime } from './runs/ports.js';

/** Options of {@link SandboxClient}. */
export interface SandboxClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:5000`, or `unix:/path/to/sandbox.sock`. */
  readonly baseUrl: string;
  /** The sandbox's secret (SANDBOX_TOKEN). */
  readonly token?: string | undefined;
  /**
   * Where to read the secret when `token` is not given (SANDBOX_TOKEN_FILE, which
   * the sandbox writes on first start): read at the first call that finds it,
   * and again when the sandbox refuses it, so start order does not matter.
   */
  readonly tokenFile?: string | undefined;
  /**
   * Time allowed for the sandbox to answer a short request, or to send the
   * headers of `POST /run` (the run itself may last much longer), ms.
   * @default 10_000
   */
  readonly requestTimeoutMs?: number;
  /**
   * How long a kept-alive connection may stay unused before this side closes
   * it; below the sandbox's keep-alive timeout (5 s), so it never closes one
   * under a request this side is sending.
   * @default 2_000
   */
  readonly idleSocketMs?: number;
}

const IDLE_SOCKET_MS = 2_000;

/** Largest non-streamed response body read from the sandbox. */
const MAX_SMALL_BODY_BYTES = 1024 * 1024;

/**
 * HTTP client of the sandbox.
 * @example
 * const client = new SandboxClient({ baseUrl: 'http://127.0.0.1:5000' });
 * const run = await client.run({ language: 'py', source: 'print(1)' });
 * for await (const ev of run.events) console.log(ev);
 * client.dispose();
 */
export class SandboxClient implements SandboxApi {
  readonly #base: string;
  readonly #timeoutMs: number;
  readonly #token: string | undefined;
  readonly #tokenFile: string | undefined;
  /** The token file's content, once read. */
  #fileToken: string | undefined;
  // Kept-alive connections: a run's request then leaves at once instead of
  // after a TCP handshake (issue 12's first-output budget). An idle one is
  // closed by this side first (IDLE_SOCKET_MS, under the sandbox's 5 s), and a
  // request the sandbox dropped on a reused one is sent again (#send).
  readonly #agent: Agent;
  /** Where requests go (parsed once: a URL per request costs more than the rest of it). */
  readonly #target: Target;
  /** Streams whose `exit` was read: stopping them early no longer closes the connection. */
  readonly #pastExit = new WeakSet<IncomingMessage>();

  constructor(opts: SandboxClientOptions) {
    this.#base = opts.baseUrl.replace(/\/+$/, '');
    this.#timeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.#token = opts.token;
    this.#tokenFile = opts.tokenFile;
    this.#target = targetOf(this.#base);
    const keep = { keepAlive: true, timeout: opts.idleSocketMs ?? IDLE_SOCKET_MS };
    this.#agent = this.#target.tls ? new TlsAgent(keep) : new Agent(keep);
  }

  /** The address shown in error messages. */
  get address(): string {
    return this.#base;
  }

  run(body: RunRequest, signal?: AbortSignal, onSent?: () => void): Promise<SandboxRunHandle> {
    return this.#stream('/run', { body, signal, onSent });
  }

  terminal(body: TerminalRequest, signal?: AbortSignal, onSent?: () => void): Promise<SandboxRunHandle> {
    return this.#stream('/terminal', { body, signal, onSent });
  }

  sendStdin(jobId: string, body: StdinRequest, signal?: AbortSignal): Promise<void> {
    return this.#jobCall(jobId, { action: 'stdin', body, signal });
  }

  resize(jobId: string, size: TerminalSize, signal?: AbortSignal): Promise<void> {
    return this.#jobCall(jobId, { action: 'resize', body: size, signal });
  }

  kill(jobId: string, signal?: AbortSignal): Promise<void> {
    return this.#jobCall(jobId, { action: 'kill', body: {}, signal });
  }

  /** A streamed POST (`/run`, `/terminal`): the job id from `X-Job-Id`, then its NDJSON events. */
  async #stream(path: string, o: { body: unknown; signal: AbortSignal | undefined; onSent: (() => void) | undefined }): Promise<SandboxRunHandle> {
    // The handshake timeout only covers the headers; the stream's lifetime is the caller's signal.
    const res = await this.#request({ method: 'POST', path, ...o, handshakeOnly: true });
    if (res.statusCode !== 200) throw await this.#errorFrom(res);
    const jobId = res.headers['x-job-id'];
    if (typeof jobId !== 'string' || jobId === '') {
      res.destroy();
      throw new CodeCellError('internal_error', `the sandbox at ${this.#base} answered POST ${path} without an X-Job-Id header`);
    }
    return {
      jobId,
      events: readRunEvents(res, {
        address: this.#base,
        broken: (err) => this.#unavailable(`the connection broke during the run (${describe(err)})`, err),
        pastExit: this.#pastExit,
      }),
    };
  }

  /** `POST /run/<jobId>/<action>`, answered 202. */
  async #jobCall(jobId: string, o: { action: 'stdin' | 'kill' | 'resize'; body: unknown; signal: AbortSignal | undefined }): Promise<void> {
    const res = await this.#request({ method: 'POST', path: `/run/${encodeURIComponent(jobId)}/${o.action}`, body: o.body, signal: o.signal });
    if (res.statusCode !== 202) throw await this.#errorFrom(res);
    res.resume();
  }

  async health(signal?: AbortSignal): Promise<Health> {
    const res = await this.#request({ method: 'GET', path: '/healthz', signal });
    const text = await this.#readSmall(res);
    // 503 still carries a health body (e.g. not ready yet).
    const parsed = healthSchema.safeParse(safeJson(text));
    if (parsed.success) return parsed.data;
    throw this.#unavailable(`GET /healthz answered HTTP ${res.statusCode ?? '?'} without a health report`);
  }

  async runtimes(signal?: AbortSignal): Promise<SandboxRuntime[]> {
    const res = await this.#request({ method: 'GET', path: '/runtimes', signal });
    if (res.statusCode !== 200) throw await this.#errorFrom(res);
    // Read leniently, entry by entry: a newer sandbox may list runtimes (or fields) this gateway does not know.
    const parsed = sandboxRuntimesSchema.safeParse(safeJson(await this.#readSmall(res)));
    if (!parsed.success) throw new CodeCellError('internal_error', `the sandbox at ${this.#base} answered GET /runtimes without a runtime list`);
    return parsed.data.runtimes.flatMap((r) => {
      const entry = sandboxRuntimeSchema.safeParse(r);
      return entry.success ? [entry.data] : [];
    });
  }

  /** Closes every connection this client opened. Safe to call twice. */
  dispose(): void {
    this.#agent.destroy();
  }

  /** Sends with the current token; when the sandbox refuses a token read from the file, re-reads the file and retries once. */
  async #request(o: SendOptions): Promise<IncomingMessage> {
    const token = this.#currentToken();
    const res = await this.#send(o, token);
    if (res.statusCode !== 401 || this.#token !== undefined || this.#tokenFile === undefined) return res;
    this.#fileToken = undefined; // the sandbox may have made a new one
    const fresh = this.#currentToken();
    if (fresh === undefined || fresh === token) return res;
    res.resume();
    return this.#send(o, fresh);
  }

  /** SANDBOX_TOKEN, else the token file's content; undefined while the file does not exist. */
  #currentToken(): string | undefined {
    if (this.#token !== undefined || this.#tokenFile === undefined) return this.#token;
    if (this.#fileToken === undefined) {
      try {
        this.#fileToken = readSecretFile(this.#tokenFile);
      } catch (err) {
        if (err instanceof SecretFileError && err.problem === 'missing') return undefined; // the sandbox answers 401, explained in #errorFrom
        throw this.#refused(`cannot use the token file: ${(err as Error).message}; or set SANDBOX_TOKEN to the sandbox's token`, err);
      }
    }
    return this.#fileToken;
  }

  /**
   * One request. On a reused connection the sandbox may have dropped (it
   * restarted, or is draining and closed its idle connections) the request
   * fails with a reset before any answer: the sandbox never read it, so it is
   * sent once more on a new connection, as Node's docs advise
   * (`request.reusedSocket`). A connection broken after the answer began is
   * the caller's error, never sent twice.
   */
  #send(o: SendOptions, token: string | undefined, retried = false): Promise<IncomingMessage> {
    const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
    const headers: Record<string, string | number> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    if (payload !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    return new Promise<IncomingMessage>((resolve, reject) => {
      const send = this.#target.tls ? tlsRequest : request;
      const req = send({ ...this.#target.options, path: this.#target.prefix + o.path, method: o.method, agent: this.#agent, headers });
      let response: IncomingMessage | null = null;
      let timedOut = false;
      // The caller's signal stops the exchange (a streamed run lives as long as it
      // does). Not given to request(): its listener would outlive the exchange and
      // destroy the connection after it went back to the pool, under someone else's request.
      const stop = (reason: unknown): void => {
        const err = Object.assign(new Error('the request to the sandbox was aborted'), { name: 'AbortError', cause: reason });
        if (response === null) req.destroy(err);
        // A finished answer's connection is the pool's; one past its `exit` ends by itself (awaitEnd).
        else if (!response.complete && !this.#pastExit.has(response)) response.destroy(err);
      };
      const onAbort = (): void => stop(o.signal?.reason);
      // A plain timer, not AbortSignal.timeout (+ AbortSignal.any): those cost ~0.1 ms each,
      // cold, on the way of every run and keystroke (issue 12). Streamed answers time out
      // until their headers only; short calls until their answer closes.
      const timer = setTimeout(() => {
        timedOut = true;
        if (o.handshakeOnly) req.destroy(this.#unavailable(`no answer to ${o.method} ${o.path} within ${this.#timeoutMs} ms`));
        else stop(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
      }, this.#timeoutMs);
      timer.unref();
      const done = (): void => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
      req.once('response', (res) => {
        response = res;
        if (o.handshakeOnly) clearTimeout(timer);
        res.once('close', done);
        resolve(res);
      });
      req.once('error', (err) => {
        done();
        // Only before any answer: once one began, the sandbox has the run (its stream reports the break).
        if (!retried && response === null && req.reusedSocket && isDroppedConnection(err) && !o.signal?.aborted && !timedOut) {
          this.#dropIdleConnections(); // the others went the same way
          resolve(this.#send(o, token, true));
          return;
        }
        reject(this.#mapTransportError(err, o.signal, timedOut));
      });
      if (o.signal?.aborted) onAbort();
      // The callback runs once the request was handed to the operating system.
      else req.end(payload, o.onSent);
    });
  }

  /** Closes the connections kept for reuse. */
  #dropIdleConnections(): void {
    for (const sockets of Object.values(this.#agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
  }

  async #errorFrom(res: IncomingMessage): Promise<CodeCellError> {
    const status = res.statusCode ?? 0;
    const text = await this.#readSmall(res).catch(() => '');
    const body = errorBodySchema.safeParse(safeJson(text));
    // The sandbox refusing the gateway is the operator's to fix, not the caller's.
    if (status === 401) return this.#refused(this.#explainUnauthorized());
    if (status === 403) return this.#refused(body.success ? body.data.error.message : `HTTP 403 ${text.slice(0, 200)}`);
    if (status >= 400 && status < 500 && body.success) {
      return new CodeCellError(body.data.error.code, body.data.error.message);
    }
    const detail = body.success ? `${body.data.error.code}: ${body.data.error.message}` : text.slice(0, 200);
    return this.#unavailable(`HTTP ${status}${detail ? ` (${detail})` : ''}`);
  }

  async #readSmall(res: IncomingMessage): Promise<string> {
    res.setEncoding('utf8');
    let text = '';
    for await (const chunk of res as AsyncIterable<string>) {
      text += chunk;
      if (text.length > MAX_SMALL_BODY_BYTES) {
        res.destroy();
        break;
      }
    }
    return text;
  }

  #mapTransportError(err: Error, caller: AbortSignal | undefined, timedOut: boolean): Error {
    if (err instanceof CodeCellError) return err;
    if (caller?.aborted) return caller.reason instanceof Error ? caller.reason : err;
    if (timedOut) return this.#unavailable(`no answer within ${this.#timeoutMs} ms`, err);
    return this.#unavailable(describe(err), err);
  }

  /** Why the sandbox answered 401, and what to change. */
  #explainUnauthorized(): string {
    if (this.#token !== undefined) return "it refused the gateway's token: SANDBOX_TOKEN is not the sandbox's token; set the same value in both";
    if (this.#tokenFile === undefined) return 'it needs a token: set SANDBOX_TOKEN to the sandbox\'s token';
    if (this.#currentToken() === undefined) {
      return `no token: ${this.#tokenFile} does not exist yet. The sandbox writes it on first start: start the sandbox (same user, same CODECELL_CACHE_DIR), or set SANDBOX_TOKEN to its token`;
    }
    return `it refused the gateway's token from ${this.#tokenFile}; the sandbox uses another one (another CODECELL_CACHE_DIR or SANDBOX_TOKEN_FILE?). Point SANDBOX_TOKEN_FILE at the sandbox's token file, or set SANDBOX_TOKEN in both`;
  }

  #refused(detail: string, cause?: unknown): CodeCellError {
    return new CodeCellError('sandbox_unavailable', `the sandbox at ${this.#base} refused the gateway: ${detail}`, { cause });
  }

  #unavailable(detail: string, cause?: unknown): CodeCellError {
    return new CodeCellError('sandbox_unavailable', `the sandbox at ${this.#base} is not reachable: ${detail}`, { cause });
  }
}

/** `runtimesResponseSchema` read loosely: extra fields and unknown ids do not fail the whole list. */
const sandboxRuntimesSchema = z.object({ runtimes: z.array(z.unknown()) });
const sandboxRuntimeSchema = z.object({ id: z.string(), version: runtimeInfoSchema.shape.version });

/** One request to the sandbox. */
interface SendOptions {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly signal?: AbortSignal | undefined;
  readonly handshakeOnly?: boolean;
  /** Told once the request was handed to the operating system. */
  readonly onSent?: (() => void) | undefined;
}

/** The peer closed or reset the connection (before answering, when told by `#send`). */
function isDroppedConnection(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}
