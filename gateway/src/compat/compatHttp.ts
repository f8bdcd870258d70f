/**
 * The HTTP edge shared by the compatible APIs: the cross-site rule for their
 * POSTs (X6 in gateway/SPEC.md), reading a JSON body whatever its
 * Content-Type says, and JSON answers.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CodeCellError } from '@codecell/protocol';
import type { CrossSitePolicy, Refusal } from '../http/hosts.js';

/** Largest body of a compatible API request (a Judge0 batch of 20 or a Piston execute with its files), bytes. */
export const MAX_COMPAT_BODY_BYTES = 8 * 1024 * 1024;

/**
 * Null when a request may reach a compatible API (X6 in gateway/SPEC.md).
 * Like every route, a foreign browser Origin and `Sec-Fetch-Site: cross-site`
 * are refused, and a POST from a browser must be `application/json`. Clients
 * that are not browsers (no Origin and no Sec-Fetch-Site) may send any
 * Content-Type and the body is read as JSON: `piston-client` sends its JSON
 * as `text/plain` (node-fetch 2), `curl -d` as a form, others send none.
 * Every browser sends Origin with a cross-origin POST, so another page's
 * form or `text/plain` fetch cannot use this exception.
 */
export function compatRefusal(req: IncomingMessage, policy: CrossSitePolicy): Refusal | null {
  if (req.method !== 'POST') return policy.checkOrigin(req);
  const browser = req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined;
  return browser ? policy.checkCsrf(req) : null;
}

/**
 * Reads the body and parses it as JSON (an empty body is `{}`).
 * @throws CodeCellError payload_too_large beyond `maxBytes`, bad_json when it is not JSON
 */
export async function readJsonBody(req: IncomingMessage, maxBytes = MAX_COMPAT_BODY_BYTES): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.resume();
      throw new CodeCellError('payload_too_large', `the request body is over ${maxBytes} bytes; send less`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CodeCellError('bad_json', 'the request body is not valid JSON; send a JSON object (Content-Type: application/json)');
  }
}

/** Answers `status` with `body` as JSON. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' }).end(text);
}

/** An AbortSignal that aborts when the client goes away before the answer was sent. */
export function clientGone(res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) ac.abort(new CodeCellError('internal_error', 'the client closed the connection'));
  });
  return ac.signal;
}
