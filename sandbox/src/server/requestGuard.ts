/**
 * Who may talk to the sandbox: only the gateway. Checked on every request
 * before anything is read or run: the Host must be one of ours (DNS rebinding),
 * browsers are refused outright (an `Origin`, or a `Sec-Fetch-Site` other than
 * `none`), the shared secret must be sent as `Authorization: Bearer`, and
 * bodies must be `application/json` (a `no-cors` form or `text/plain` post
 * is refused before it is parsed).
 * @module
 */
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { CodeCellError } from '@codecell/protocol';
import { secretsEqual } from '@codecell/server-kit';

/** Host names every sandbox answers to. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];

/** What {@link checkCaller} checks against. */
export interface RequestGuardOptions {
  /** The shared secret the gateway sends as `Authorization: Bearer <token>`. */
  readonly token: string;
  /** Accepted Host names, lowercase, without port (IP literals are always accepted). */
  readonly allowedHosts: ReadonlySet<string>;
  /** Where the token comes from, for the 401 message (e.g. the token file's path). */
  readonly tokenHint?: string;
}

/** `SANDBOX_HOST` (unless it is a wildcard address), the loopback names and `SANDBOX_ALLOWED_HOSTS`. */
export function allowedHostsFor(c: { readonly SANDBOX_HOST: string; readonly SANDBOX_ALLOWED_HOSTS: readonly string[] }): Set<string> {
  const hosts = new Set([...LOOPBACK_HOSTS, ...c.SANDBOX_ALLOWED_HOSTS.map((h) => h.toLowerCase())]);
  if (!['0.0.0.0', '::', ''].includes(c.SANDBOX_HOST)) hosts.add(c.SANDBOX_HOST.toLowerCase().replace(/^\[|\]$/g, ''));
  return hosts;
}

/** The host name of a Host header (lowercase, IPv6 without brackets), or null when it is not a host. */
export function hostnameOf(header: string | undefined): string | null {
  if (!header || !/^[A-Za-z0-9.\-[\]:]+$/.test(header)) return null;
  try {
    const url = new URL(`http://${header}`);
    return url.hostname.replace(/^\[|\]$/g, '');
  } catch {
    return null;
  }
}

/**
 * Refuses requests that do not come from the gateway: a foreign Host (403),
 * a browser (403), no or a wrong token (401; `GET /healthz` needs none).
 * @throws CodeCellError `forbidden` or `unauthorized`
 */
export function checkCaller(req: IncomingMessage, o: RequestGuardOptions & { readonly tokenRequired: boolean }): void {
  const host = hostnameOf(req.headers.host);
  if (host === null || (!o.allowedHosts.has(host) && isIP(host) === 0)) {
    throw new CodeCellError(
      'forbidden',
      `Host ${JSON.stringify(req.headers.host ?? '')} is not one of this sandbox's names (${[...o.allowedHosts].join(', ')} or an IP address); add it to SANDBOX_ALLOWED_HOSTS`,
    );
  }
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  if (origin !== undefined || (site !== undefined && site !== 'none')) {
    throw new CodeCellError('forbidden', `requests from web pages are refused (${origin !== undefined ? `Origin ${origin}` : `Sec-Fetch-Site ${String(site)}`}); only the gateway may call the sandbox`);
  }
  if (!o.tokenRequired) return;
  const m = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!m || !secretsEqual(m[1] as string, o.token)) {
    const what = req.headers.authorization === undefined ? 'no Authorization header' : 'a wrong Authorization header';
    throw new CodeCellError(
      'unauthorized',
      `${what}: send \`Authorization: Bearer <token>\` with the sandbox's token (SANDBOX_TOKEN${o.tokenHint ? `, or the contents of ${o.tokenHint}` : ''})`,
    );
  }
}

/**
 * Refuses a body that is not `application/json`; a POST without a body needs no type.
 * @throws CodeCellError `unsupported_media_type`
 */
export function checkJsonBody(req: IncomingMessage): void {
  const type = req.headers['content-type'];
  if (type === undefined) {
    const empty = req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] ?? '0') === '0';
    if (empty) return;
    throw new CodeCellError('unsupported_media_type', 'the request has a body but no Content-Type; send it as `Content-Type: application/json`');
  }
  const media = type.split(';')[0]?.trim().toLowerCase();
  if (media !== 'application/json') {
    throw new CodeCellError('unsupported_media_type', `Content-Type ${JSON.stringify(type)} is not accepted; send the body as \`Content-Type: application/json\``);
  }
}
