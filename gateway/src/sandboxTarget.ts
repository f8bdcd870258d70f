/**
 * Where the gateway's requests to the sandbox go: SANDBOX_ADDR parsed once into
 * node:http(s) request options and a path prefix.
 * @module
 */
import type { RequestOptions } from 'node:http';

/** Where requests go, parsed once (a URL per request costs more than the rest of it). */
export interface Target {
  /** Host and port on TCP, or a Unix socket's path. */
  readonly options: RequestOptions;
  /** The base URL's path, which every request's path starts with. */
  readonly prefix: string;
  /** An https:// base (a TLS proxy in front of a sandbox elsewhere). */
  readonly tls: boolean;
}

/** Where requests to `base` (`http(s)://host:port[/path]` or `unix:/path`) go. */
export function targetOf(base: string): Target {
  if (base.startsWith('unix:')) return { options: { socketPath: base.slice('unix:'.length), host: 'localhost' }, prefix: '', tls: false };
  const url = new URL(base);
  const tls = url.protocol === 'https:';
  const port = url.port === '' ? (tls ? 443 : 80) : Number(url.port);
  return { options: { hostname: url.hostname.replace(/^\[|\]$/g, ''), port }, prefix: url.pathname.replace(/\/+$/, ''), tls };
}
