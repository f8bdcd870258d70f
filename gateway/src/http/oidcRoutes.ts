/**
 * `GET /auth/oidc/start` and `GET /auth/oidc/callback`: browser navigations
 * of the OpenID Connect sign-in (redirects, not fetches). Failures are shown
 * as a short page saying what happened and where to start again.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OIDC_CALLBACK_PATH, OIDC_START_PATH, toCodeCellError } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { OidcSignIn, Redirect } from '../auth/OidcSignIn.js';

/** True when `path` is one of the OIDC routes. */
export function isOidcPath(path: string): boolean {
  return path === OIDC_START_PATH || path === OIDC_CALLBACK_PATH;
}

/** Serves an OIDC route (`oidc` null: AUTH_MODE is not oidc). */
export async function handleOidcRoute(req: IncomingMessage, res: ServerResponse, o: { oidc: OidcSignIn | null; logger: Logger }): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  if (req.method !== 'GET') return void res.writeHead(405, { Allow: 'GET', 'Content-Type': 'text/plain; charset=utf-8' }).end('use GET\n');
  if (o.oidc === null) return void res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('OpenID Connect sign-in is off (AUTH_MODE is not oidc)\n');
  try {
    const redirect: Redirect = url.pathname === OIDC_START_PATH ? await o.oidc.start(url.searchParams) : await o.oidc.callback(url, req.headers);
    res.writeHead(302, { Location: redirect.location, 'Set-Cookie': [...redirect.cookies], 'Cache-Control': 'no-store' }).end();
  } catch (err) {
    const e = toCodeCellError(err);
    if (e.code === 'internal_error') o.logger.error('OIDC sign-in failed', { error: String(err) });
    const body = `Sign-in failed (${e.code}): ${e.message}\n\nStart again: ${OIDC_START_PATH}\n`;
    res.writeHead(e.httpStatus, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end(body);
  }
}
