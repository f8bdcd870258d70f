/**
 * Judge0 CE's HTTP routes (J rules in gateway/SPEC.md): `/submissions`
 * (create, `wait=true`, by token, batch create and show), `/languages`,
 * `/statuses`, `/about`, `/config_info`, `/version`. Errors as Judge0 gives
 * them: 422 `{field: [messages]}` (an array of them for a batch), 400
 * `{error}`, 503 `{error: "queue is full"}`, 401/403/404 `{error}`.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CodeCellError, ERROR_CODE_TABLE, JUDGE0_MAX_BATCH, PEER_RUNTIME_NAMES, judge0BatchRequestSchema, toCodeCellError } from '@codecell/protocol';
import type { Judge0Field } from '@codecell/protocol';
import type { Caller } from '../../auth/Caller.js';
import type { CompatContext } from '../compatContext.js';
import { compatRefusal, readJsonBody, sendJson } from '../compatHttp.js';
import { requireCaller } from '../CompatRunner.js';
import { judge0About, judge0ConfigInfo, judge0Language, judge0Languages, judge0Statuses } from './judge0Info.js';
import type { Judge0Settings } from './judge0Info.js';
import { CONVERSION_ERROR, Judge0ConversionError, requestedFields, serializeRecord } from './judge0Records.js';
import { Judge0ValidationFailure } from './judge0Request.js';
import type { Judge0Submissions } from './Judge0Submissions.js';

/** The first path segments Judge0 serves. */
const JUDGE0_ROOTS = new Set(['submissions', 'languages', 'statuses', 'about', 'config_info', 'version']);
const AUTH_HINT = 'X-Auth-Token: <API token> (or Authorization: Bearer <API token>)';

/** True for paths the Judge0 API serves. */
export function isJudge0Path(path: string): boolean {
  return JUDGE0_ROOTS.has(path.split('/')[1] ?? '');
}

/** What the Judge0 routes need besides the shared context. */
export interface Judge0RouteContext extends CompatContext {
  readonly submissions: Judge0Submissions;
  readonly judge0: Judge0Settings;
  /** The gateway's version, for `/about`. */
  readonly version: string;
}

interface Query {
  readonly base64: boolean;
  readonly wait: boolean;
  readonly fields: readonly Judge0Field[];
  readonly tokens: string | null;
}

function queryOf(url: URL): Query {
  // Judge0 1.13.1: base64_encoded is false unless "true" is given.
  return { base64: url.searchParams.get('base64_encoded') === 'true', wait: url.searchParams.get('wait') === 'true', fields: requestedFields(url.searchParams.get('fields')), tokens: url.searchParams.get('tokens') };
}

function sendError(res: ServerResponse, err: unknown, ctx: CompatContext): void {
  if (err instanceof Judge0ValidationFailure) return sendJson(res, 422, err.errors);
  const e = toCodeCellError(err);
  if (e.code === 'internal_error') ctx.logger.error('Judge0 request failed', { error: e.cause instanceof Error ? e.cause.message : e.message });
  if (e.code === 'capacity_exceeded') return sendJson(res, 503, { error: 'queue is full', detail: e.message });
  const status = e.code === 'bad_json' ? 400 : ERROR_CODE_TABLE[e.code].http;
  sendJson(res, status, { error: e.message });
}

/** Handles one Judge0 request. */
export async function handleJudge0Route(req: IncomingMessage, res: ServerResponse, ctx: Judge0RouteContext): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const parts = url.pathname.replace(/\/+$/, '').split('/').slice(1);
  try {
    const refusal = compatRefusal(req, ctx.policy);
    if (refusal) {
      req.resume();
      return sendJson(res, ERROR_CODE_TABLE[refusal.code].http, { error: refusal.message });
    }
    if (parts[0] === 'submissions') return await submissions(req, res, { ctx, url, rest: parts.slice(1) });
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new CodeCellError('method_not_allowed', `${req.method ?? ''} is not allowed on ${url.pathname}; use GET`);
    return await info(res, ctx, parts);
  } catch (err) {
    req.resume();
    sendError(res, err, ctx);
  }
}

async function info(res: ServerResponse, ctx: Judge0RouteContext, parts: readonly string[]): Promise<void> {
  const [root, id, extra] = parts;
  if (root === 'languages' && extra === undefined) {
    const runtimes = await ctx.runtimes.runnable();
    if (id === undefined) return sendJson(res, 200, judge0Languages(runtimes));
    if (id === 'all') return sendJson(res, 200, judge0Languages(runtimes).map((l) => ({ ...l, is_archived: false })));
    const found = runtimes.find((r) => String(PEER_RUNTIME_NAMES[r.id].judge0Id) === id);
    if (found) return sendJson(res, 200, judge0Language(found));
    throw new CodeCellError('not_found', `language with id ${id.slice(0, 20)} doesn't exist; GET /languages lists them`);
  }
  if (id === undefined) {
    if (root === 'statuses') return sendJson(res, 200, judge0Statuses());
    if (root === 'about') return sendJson(res, 200, judge0About(ctx.version));
    if (root === 'config_info') return sendJson(res, 200, judge0ConfigInfo(ctx.limits, ctx.judge0));
    if (root === 'version') return void res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end(ctx.version);
  }
  throw new CodeCellError('not_found', `no route /${parts.join('/')}; Judge0's routes here are /submissions, /submissions/batch, /languages, /statuses, /about, /config_info`);
}

interface SubmissionRequest {
  readonly ctx: Judge0RouteContext;
  readonly url: URL;
  /** Path segments after `/submissions`. */
  readonly rest: readonly string[];
}

async function submissions(req: IncomingMessage, res: ServerResponse, o: SubmissionRequest): Promise<void> {
  const { ctx, rest } = o;
  const [first, extra] = rest;
  if (extra !== undefined) throw new CodeCellError('not_found', `no route ${o.url.pathname}`);
  const caller = requireCaller(await ctx.callerOf(req, { judge0: true }), AUTH_HINT);
  if (req.method === 'POST' && first === undefined) return create(req, res, { ...o, caller });
  if (req.method === 'POST' && first === 'batch') return createBatch(req, res, { ...o, caller });
  if (req.method === 'GET' && first === 'batch') return showBatch(res, { ...o, caller });
  if (req.method === 'GET' && first !== undefined) return show(res, { ...o, caller, token: first });
  if (req.method === 'GET') throw new CodeCellError('forbidden', 'listing every submission is not allowed; get yours by token (GET /submissions/{token} or /submissions/batch?tokens=)');
  if (req.method === 'DELETE' && first !== undefined) throw new CodeCellError('invalid_request', 'delete not allowed: submissions are deleted JUDGE0_RETENTION_HOURS after they were made');
  throw new CodeCellError('method_not_allowed', `${req.method ?? ''} is not allowed on ${o.url.pathname}`);
}

type WithCaller = SubmissionRequest & { readonly caller: Caller };

async function create(req: IncomingMessage, res: ServerResponse, o: WithCaller): Promise<void> {
  const q = queryOf(o.url);
  const body = await readJsonBody(req);
  const [result] = await o.ctx.submissions.create(o.caller, [body], { base64: q.base64 });
  if (result === undefined || !('token' in result)) throw new Judge0ValidationFailure(result ?? {});
  const token = result.token as string;
  const done = q.wait ? o.ctx.submissions.finished(token) : null;
  if (done === null) return sendJson(res, 201, { token });
  const record = await done;
  try {
    sendJson(res, 201, serializeRecord(record, { fields: q.fields, base64: q.base64 }));
  } catch (err) {
    if (!(err instanceof Judge0ConversionError)) throw err;
    sendJson(res, 201, { token, error: CONVERSION_ERROR });
  }
}

async function createBatch(req: IncomingMessage, res: ServerResponse, o: WithCaller): Promise<void> {
  const q = queryOf(o.url);
  const parsed = judge0BatchRequestSchema.safeParse(await readJsonBody(req));
  if (!parsed.success) throw new CodeCellError('invalid_request', 'the body must be {"submissions": [...]}');
  const n = parsed.data.submissions.length;
  if (n === 0) throw new CodeCellError('invalid_request', 'there should be at least one submission in a batch');
  if (n > JUDGE0_MAX_BATCH) throw new CodeCellError('invalid_request', `number of submissions in a batch should be less than or equal to ${JUDGE0_MAX_BATCH}`);
  const results = await o.ctx.submissions.create(o.caller, parsed.data.submissions, { base64: q.base64 });
  sendJson(res, results.some((r) => 'token' in r) ? 201 : 422, results);
}

async function show(res: ServerResponse, o: WithCaller & { token: string }): Promise<void> {
  const q = queryOf(o.url);
  const [record] = await o.ctx.submissions.get(o.caller, [o.token]);
  if (!record) throw new CodeCellError('not_found', `no submission ${o.token.slice(0, 64)} of yours: it never existed or is older than JUDGE0_RETENTION_HOURS=${o.ctx.judge0.retentionHours}`);
  sendJson(res, 200, serializeRecord(record, { fields: q.fields, base64: q.base64 }));
}

async function showBatch(res: ServerResponse, o: WithCaller): Promise<void> {
  const q = queryOf(o.url);
  const tokens = (q.tokens ?? '').trim().split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (tokens.length === 0) throw new CodeCellError('invalid_request', 'there should be at least one submission in a batch');
  if (tokens.length > JUDGE0_MAX_BATCH) throw new CodeCellError('invalid_request', `number of submissions in a batch should be less than or equal to ${JUDGE0_MAX_BATCH}`);
  const records = await o.ctx.submissions.get(o.caller, tokens);
  sendJson(res, 200, { submissions: records.map((r) => (r ? serializeRecord(r, { fields: q.fields, base64: q.base64 }) : null)) });
}
