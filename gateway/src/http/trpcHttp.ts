/**
 * The HTTP edge of `/trpc`: CORS, the batch-size and CSRF checks that run
 * before tRPC sees a request, and refusals in tRPC's own error shape (so tRPC
 * clients read `data.codecellCode` as from any procedure).
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { ERROR_CODE_TABLE } from '@codecell/protocol';
import type { ErrorCode } from '@codecell/protocol';
import { applyCors } from './cors.js';
import type { CrossSitePolicy } from './hosts.js';

/** Options of {@link handleTrpcHttp}. */
export interface TrpcHttpOptions {
  readonly policy: CrossSitePolicy;
  readonly corsOrigins: readonly string[];
  /** MAX_TRPC_BATCH */
  readonly maxBatch: number;
  readonly trpc: (req: IncomingMessage, res: ServerResponse) => void;
}

/** Handles one `/trpc/...` request. */
export function handleTrpcHttp(req: IncomingMessage, res: ServerResponse, o: TrpcHttpOptions): void {
  if (applyCors(req, res, o.corsOrigins)) return;
  const url = new URL(req.url ?? '/', 'http://x');
  const paths = decodeURIComponent(url.pathname.replace(/^\/trpc\/?/, '')).split(',');
  const batch = url.searchParams.get('batch') === '1';
  if (batch && paths.length > o.maxBatch) {
    return sendTrpcError(res, { code: 'invalid_request', message: `${paths.length} calls in one batch; the limit is ${o.maxBatch} (MAX_TRPC_BATCH)`, paths, batch });
  }
  // Queries (GET) change nothing, but a foreign page gets nothing from us either.
  const refusal = req.method === 'POST' ? o.policy.checkCsrf(req) : o.policy.checkOrigin(req);
  if (refusal !== null) {
    req.resume();
    return sendTrpcError(res, { code: refusal.code, message: refusal.message, paths, batch });
  }
  o.trpc(req, res);
}

/** Answers with a tRPC error envelope (one per call for a batch). */
function sendTrpcError(res: ServerResponse, o: { code: ErrorCode; message: string; paths: string[]; batch: boolean }): void {
  const mapping = ERROR_CODE_TABLE[o.code];
  const one = (path: string | undefined) => ({
    error: {
      message: o.message,
      code: TRPC_ERROR_CODES_BY_KEY[mapping.trpc],
      data: { code: mapping.trpc, httpStatus: mapping.http, path, codecellCode: o.code },
    },
  });
  const body = o.batch ? o.paths.map(one) : one(o.paths[0]);
  res.writeHead(mapping.http, { 'Content-Type': 'application/json', Connection: 'close' }).end(JSON.stringify(body));
}
