/**
 * Runs for the compatible APIs (Piston, Judge0), through the same run
 * operations as `runCode`: RunService's submit (room access, quotas and the
 * other extensions' hooks, then RunManager's queue and limits), sendStdin and
 * stop, and RunManager's public `subscribe` for the run's messages. Nothing
 * here reaches into the queue or the event log.
 * @module
 */
import { CodeCellError } from '@codecell/protocol';
import type { RunCodeOutput, SendStdinInput, StopRunInput, StreamMessage } from '@codecell/protocol';
import type { IncomingHttpHeaders } from 'node:http';
import type { Caller } from '../auth/Caller.js';
import type { RunSubscriber, RunSubscription } from '../runs/ports.js';
import type { ParsedRunCodeInput } from '../runs/types.js';
import { RunOutcomeBuilder } from './runOutcome.js';
import type { RunOutcome } from './runOutcome.js';

/** The run operations the compatible APIs use (RunService plus RunManager.subscribe). */
export interface CompatRunOps {
  submit(caller: Caller, input: ParsedRunCodeInput): Promise<RunCodeOutput>;
  subscribe(jobId: string, subscriber: RunSubscriber): Promise<RunSubscription | undefined>;
  sendStdin(caller: Caller, input: SendStdinInput, signal?: AbortSignal): Promise<void>;
  stop(caller: Caller, input: StopRunInput, signal?: AbortSignal): Promise<void>;
}

/** How a compatible API learns who is calling: the gateway's extensions, given only an API token. */
export type CompatAuthenticate = (o: { headers: IncomingHttpHeaders; address: string }) => Promise<Caller>;

/**
 * The headers a compatible API authenticates with, as `Authorization: Bearer
 * <API token>` for the gateway's authentication (AuthService.authenticateToken):
 * `Authorization: Bearer`; `Authorization: Basic` whose password is the token
 * (what `piston-client` sends for a server URL `http://any:<token>@host`, as
 * it has no option for headers); with `judge0`, Judge0's `X-Auth-Token`. Never
 * the session cookie: these APIs are for programs, so a web page's cookies
 * get it nothing.
 */
export function tokenHeaders(headers: IncomingHttpHeaders, o: { judge0?: boolean } = {}): IncomingHttpHeaders {
  const token = bearerOf(headers.authorization) ?? basicPasswordOf(headers.authorization) ?? (o.judge0 === true ? single(headers['x-auth-token']) : null);
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

function single(v: string | string[] | undefined): string | null {
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  return s === undefined || s === '' ? null : s;
}

function bearerOf(auth: string | undefined): string | null {
  return auth !== undefined && /^bearer\s/i.test(auth) ? single(auth.slice(7)) : null;
}

function basicPasswordOf(auth: string | undefined): string | null {
  if (auth === undefined || !/^basic\s/i.test(auth)) return null;
  const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : single(decoded.slice(colon + 1));
}

/**
 * Refuses callers nobody vouched for. With AUTH_MODE=none everyone is the local user.
 * @throws CodeCellError unauthorized naming the header to send
 */
export function requireCaller(caller: Caller, header: string): Caller {
  if (caller.principal === null) throw new CodeCellError('unauthorized', `this gateway needs an API token: send ${header} (make one with auth.createToken in the IDE)`);
  return caller;
}

/** A run that is going on: its job id, and its outcome once it ends. */
export interface CompatRun {
  readonly jobId: string;
  /** Resolves when the run ended (never rejects). */
  readonly outcome: Promise<RunOutcome>;
  /** Stops following it (the run goes on). */
  unsubscribe(): void;
}

/** Options of {@link CompatRunner.start}. */
export interface CompatStartOptions {
  readonly caller: Caller;
  readonly input: ParsedRunCodeInput;
  /** Told every message of the run as it comes (the replay first). */
  readonly onMessage?: (msg: StreamMessage) => void;
}

/** Starts runs and follows them to their end. */
export class CompatRunner {
  readonly #ops: CompatRunOps;

  constructor(ops: CompatRunOps) {
    this.#ops = ops;
  }

  get ops(): CompatRunOps {
    return this.#ops;
  }

  /**
   * Queues a run and follows it.
   * @throws CodeCellError from submit: quota_exceeded, capacity_exceeded, limit_exceeded, unauthorized…
   */
  async start(o: CompatStartOptions): Promise<CompatRun> {
    const { jobId } = await this.#ops.submit(o.caller, o.input);
    const builder = new RunOutcomeBuilder();
    let done: (outcome: RunOutcome) => void = () => undefined;
    const outcome = new Promise<RunOutcome>((resolve) => (done = resolve));
    const take = (msg: StreamMessage): void => {
      o.onMessage?.(msg);
      if (builder.add(msg)) done(builder.finish());
    };
    // Live messages that come before the replay was taken wait for it.
    let early: StreamMessage[] | null = [];
    const sub = await this.#ops.subscribe(jobId, { send: (msg) => (early === null ? take(msg) : early.push(msg)) });
    if (sub === undefined) {
      // Forgotten between submit and subscribe: only when the gateway shuts down.
      return { jobId, outcome: Promise.resolve({ compile: null, run: null, endedIn: null, status: 'sandbox_unavailable', code: null, message: 'the gateway is shutting down' }), unsubscribe: () => undefined };
    }
    const waiting = early;
    early = null;
    for (const msg of [...sub.replay, ...waiting]) take(msg);
    return { jobId, outcome, unsubscribe: () => sub.unsubscribe() };
  }

  /** Runs to the end; when `signal` aborts first (the client left), the run is stopped. */
  async execute(o: CompatStartOptions & { signal?: AbortSignal }): Promise<RunOutcome> {
    const run = await this.start(o);
    const onAbort = (): void => void this.#ops.stop(o.caller, { jobId: run.jobId }).catch(() => undefined);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await run.outcome;
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      run.unsubscribe();
    }
  }
}
