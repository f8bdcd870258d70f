/**
 * `ws /api/v2/connect`, Piston's interactive execution (P5 in
 * gateway/SPEC.md): the client sends `init` (execute's fields) within 1 s,
 * then `data {stream: "stdin"}` and `signal`; the server sends `runtime`,
 * `stage`, `data {stream}`, `exit {stage, code, signal}` and `error`, and
 * closes with Piston's codes (4000-4005, 4999 when the job completed).
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { PISTON_INIT_TIMEOUT_MS, PISTON_SIGNALS, PistonCloseCode, pistonClientMessageSchema, toCodeCellError } from '@codecell/protocol';
import type { PistonServerMessage, StageName, StreamMessage } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { Caller } from '../../auth/Caller.js';
import type { CompatContext } from '../compatContext.js';
import { MAX_COMPAT_BODY_BYTES } from '../compatHttp.js';
import { requireCaller } from '../CompatRunner.js';
import { eventBytes } from '../runOutcome.js';
import { parsePistonRequest } from './pistonRequest.js';
import { PISTON_AUTH_HINT } from './pistonRoutes.js';

/** Stdin the gateway takes in one `sendStdin` (gatewayApi's limit). */
const STDIN_CHUNK_CHARS = 64 * 1024;

/** One socket's job once `init` was accepted. */
interface Job {
  readonly caller: Caller;
  readonly jobId: string;
  finished: boolean;
}

/** Serves `ws /api/v2/connect` on upgrades handed to it. */
export class PistonSocketServer {
  readonly #ctx: CompatContext;
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: MAX_COMPAT_BODY_BYTES, perMessageDeflate: false });
  readonly #sockets = new Set<WebSocket>();

  constructor(ctx: CompatContext) {
    this.#ctx = ctx;
  }

  /** Completes an upgrade the HTTP server routed here (Host and Origin were checked there). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => new PistonConnection({ ws, req, ctx: this.#ctx, sockets: this.#sockets }));
  }

  /** Closes every socket (its run is stopped). Safe to call twice. */
  async dispose(): Promise<void> {
    for (const ws of this.#sockets) ws.close(1001, 'the gateway is shutting down');
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}

class PistonConnection {
  readonly #ws: WebSocket;
  readonly #req: IncomingMessage;
  readonly #ctx: CompatContext;
  readonly #log: Logger;
  /** Set when `init` arrived; resolves once the run was queued. */
  #job: Promise<Job | null> | null = null;
  #stage: StageName | null = null;
  /** Stdin of `data` messages, forwarded one after the other. */
  #stdinTail: Promise<void> = Promise.resolve();
  readonly #initTimer: NodeJS.Timeout;

  constructor(o: { ws: WebSocket; req: IncomingMessage; ctx: CompatContext; sockets: Set<WebSocket> }) {
    this.#ws = o.ws;
    this.#req = o.req;
    this.#ctx = o.ctx;
    this.#log = o.ctx.logger;
    o.sockets.add(o.ws);
    this.#initTimer = setTimeout(() => {
      if (this.#job === null) this.#close(PistonCloseCode.initTimeout, 'Initialization Timeout');
    }, PISTON_INIT_TIMEOUT_MS);
    o.ws.on('message', (data: Buffer) => this.#onMessage(data.toString('utf8')));
    o.ws.on('error', (err) => this.#log.debug('piston socket error', { error: err.message }));
    o.ws.on('close', () => {
      o.sockets.delete(o.ws);
      clearTimeout(this.#initTimer);
      // The client left: a run still going is stopped.
      void this.#job?.then((job) => {
        if (job && !job.finished) return this.#ctx.runner.ops.stop(job.caller, { jobId: job.jobId });
        return undefined;
      }).catch(() => undefined);
    });
  }

  #send(msg: PistonServerMessage): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(msg));
  }

  #close(code: number, reason: string): void {
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.close(code, reason);
  }

  /** Piston's answer to anything that went wrong: the message, then 4002. */
  #fail(err: unknown): void {
    this.#send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    this.#close(PistonCloseCode.notifiedError, 'Notified Error');
  }

  #onMessage(text: string): void {
    let json: unknown;
    try {
      json = JSON.parse(text) as unknown;
    } catch (err) {
      return this.#fail(err);
    }
    const parsed = pistonClientMessageSchema.safeParse(json);
    if (!parsed.success) return this.#fail(new Error(`unknown message: ${parsed.error.issues[0]?.message ?? 'invalid'}`));
    const msg = parsed.data;
    if (msg.type === 'init') {
      if (this.#job !== null) return this.#close(PistonCloseCode.alreadyInitialised, 'Already Initialized');
      this.#job = this.#init(msg).catch((err: unknown) => {
        this.#fail(err);
        return null;
      });
      return;
    }
    if (this.#job === null) return this.#close(PistonCloseCode.notInitialised, 'Not yet initialized');
    if (msg.type === 'data') {
      if (msg.stream !== 'stdin') return this.#close(PistonCloseCode.onlyStdin, 'Can only write to stdin');
      const job = this.#job;
      this.#stdinTail = this.#stdinTail.then(async () => {
        const j = await job;
        if (j) await this.#stdin(j, msg.data);
      });
      return;
    }
    if (!(PISTON_SIGNALS as readonly string[]).includes(msg.signal)) return this.#close(PistonCloseCode.invalidSignal, 'Invalid signal');
    // The sandbox ends a program one way: its VM kills it (SIGKILL), whatever the signal asked for.
    void this.#job.then((job) => (job ? this.#ctx.runner.ops.stop(job.caller, { jobId: job.jobId }) : undefined)).catch((err: unknown) => this.#fail(err));
  }

  async #stdin(job: Job, data: string): Promise<void> {
    try {
      for (let i = 0; i < data.length; i += STDIN_CHUNK_CHARS) {
        await this.#ctx.runner.ops.sendStdin(job.caller, { jobId: job.jobId, data: data.slice(i, i + STDIN_CHUNK_CHARS) });
      }
    } catch (err) {
      const e = toCodeCellError(err);
      // Stdin for a program that already ended goes nowhere, as with a closed pipe; anything else is said.
      if (e.code === 'run_finished' || e.code === 'stdin_closed' || job.finished) return this.#log.debug('piston stdin not delivered', { jobId: job.jobId, error: e.message });
      this.#fail(e);
    }
  }

  async #init(body: object): Promise<Job> {
    const caller = requireCaller(await this.#ctx.callerOf(this.#req), PISTON_AUTH_HINT);
    const job = parsePistonRequest(body, { runtimes: await this.#ctx.runtimes.runnable(), limits: this.#ctx.limits, interactive: true });
    this.#send({ type: 'runtime', language: job.language, version: job.version });
    const run = await this.#ctx.runner.start({ caller, input: job.input, onMessage: (m) => this.#relay(m) });
    const result: Job = { caller, jobId: run.jobId, finished: false };
    void run.outcome.then((outcome) => {
      result.finished = true;
      run.unsubscribe();
      if (outcome.endedIn === null) return this.#fail(new Error(outcome.message ?? outcome.status));
      this.#close(PistonCloseCode.jobCompleted, 'Job Completed');
    });
    return result;
  }

  /** Turns the run's messages into Piston's, as they come. */
  #relay(msg: StreamMessage): void {
    if (msg.type !== 'event') return;
    const ev = msg.event;
    switch (ev.type) {
      case 'start':
        return;
      case 'stage':
        // The compile stage succeeded when the run stage starts.
        if (this.#stage === 'compile' && ev.name === 'run') this.#send({ type: 'exit', stage: 'compile', code: 0, signal: null });
        this.#stage = ev.name;
        return this.#send({ type: 'stage', stage: ev.name });
      case 'stdout':
      case 'stderr':
        this.#enterRun();
        return this.#send({ type: 'data', stream: ev.type, data: eventBytes(ev).toString('utf8') });
      case 'exit':
        this.#enterRun();
        return this.#send({ type: 'exit', stage: this.#stage ?? 'run', code: ev.code, signal: ev.signal });
      case 'diagnostics':
      case 'error':
      case 'file': // files the program wrote: Piston has no message for them
      case 'size': // a terminal's size (issue 12): Piston runs have no terminal
        return;
    }
  }

  /** Runtimes without stage events (and older sandboxes) only run: say so once. */
  #enterRun(): void {
    if (this.#stage !== null) return;
    this.#stage = 'run';
    this.#send({ type: 'stage', stage: 'run' });
  }
}
