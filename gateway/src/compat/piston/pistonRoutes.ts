/**
 * Piston v2's HTTP routes under `/api/v2` (P rules in gateway/SPEC.md):
 * `GET /runtimes` and `POST /execute`. Errors are `{message}` with Piston's
 * statuses (400 for bad input and unknown runtimes).
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERROR_CODE_TABLE, toCodeCellError } from '@codecell/protocol';
import type { PistonRuntime, RuntimeInfo } from '@codecell/protocol';
import { PEER_RUNTIME_NAMES, semverOf } from '@codecell/protocol';
import { failedBeforeStart, isClientError } from '../compatErrors.js';
import type { CompatContext } from '../compatContext.js';
import { clientGone, compatRefusal, readJsonBody, sendJson } from '../compatHttp.js';
import { requireCaller } from '../CompatRunner.js';
import { parsePistonRequest } from './pistonRequest.js';
import { pistonResponse } from './pistonResult.js';

/** How a Piston client sends its API token (piston-client has no option for headers, but keeps the URL's userinfo). */
export const PISTON_AUTH_HINT = 'Authorization: Bearer <API token>, or put it in the server URL as http://token:<API token>@host';

/** The prefix of Piston's routes. */
export const PISTON_PREFIX = '/api/v2';

/** True for paths the Piston API serves. */
export function isPistonPath(path: string): boolean {
  return path === PISTON_PREFIX || path.startsWith(`${PISTON_PREFIX}/`);
}

/** `GET /api/v2/runtimes` entries: Piston's name, SemVer, our id and aliases among the aliases. */
export function pistonRuntimes(runtimes: readonly RuntimeInfo[]): PistonRuntime[] {
  return runtimes.map((r) => {
    const language = PEER_RUNTIME_NAMES[r.id].piston;
    const aliases = [r.id, ...r.aliases].filter((a, i, all) => a !== language && all.indexOf(a) === i);
    return { language, version: semverOf(r.version), aliases };
  });
}

function sendError(res: ServerResponse, err: unknown, ctx: CompatContext): void {
  const e = toCodeCellError(err);
  if (e.code === 'internal_error') ctx.logger.error('Piston request failed', { error: e.cause instanceof Error ? e.cause.message : e.message });
  sendJson(res, ERROR_CODE_TABLE[e.code].http, { message: e.message });
}

/** Handles one request under `/api/v2`. */
export async function handlePistonRoute(req: IncomingMessage, res: ServerResponse, ctx: CompatContext): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/\/+$/, '');
  try {
    const refusal = compatRefusal(req, ctx.policy);
    if (refusal) {
      req.resume();
      return sendJson(res, ERROR_CODE_TABLE[refusal.code].http, { message: refusal.message });
    }
    if (path === `${PISTON_PREFIX}/runtimes` && req.method === 'GET') {
      return sendJson(res, 200, pistonRuntimes(await ctx.runtimes.runnable()));
    }
    if (path === `${PISTON_PREFIX}/execute` && req.method === 'POST') return await execute(req, res, ctx);
    req.resume();
    const known = path === `${PISTON_PREFIX}/runtimes` || path === `${PISTON_PREFIX}/execute`;
    return sendJson(res, known ? 405 : 404, { message: known ? `${req.method ?? ''} is not allowed on ${path}` : `no route ${path}; this server has GET ${PISTON_PREFIX}/runtimes, POST ${PISTON_PREFIX}/execute and ws ${PISTON_PREFIX}/connect` });
  } catch (err) {
    // A refusal before the body was read (no token): drain it so the connection stays usable.
    req.resume();
    sendError(res, err, ctx);
  }
}

async function execute(req: IncomingMessage, res: ServerResponse, ctx: CompatContext): Promise<void> {
  const caller = requireCaller(await ctx.callerOf(req), PISTON_AUTH_HINT);
  const body = await readJsonBody(req);
  const job = parsePistonRequest(body, { runtimes: await ctx.runtimes.runnable(), limits: ctx.limits, interactive: false });
  const outcome = await ctx.runner.execute({ caller, input: job.input, signal: clientGone(res) });
  const failed = failedBeforeStart(outcome);
  if (failed !== null) {
    // The sandbox refused the run (bad input) or could not start it.
    return sendJson(res, isClientError(failed) ? 400 : ERROR_CODE_TABLE[failed].http, { message: outcome.message ?? failed });
  }
  sendJson(res, 200, pistonResponse(job, outcome));
}
