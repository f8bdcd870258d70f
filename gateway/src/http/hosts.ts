/**
 * Cross-site protection (issue 9), always on: which Host names the gateway
 * serves (a DNS-rebinding page sends its own name), which browser Origins may
 * open WebSockets or call tRPC, and whether a POST could have been sent by
 * another web page. Clients without an Origin (scripts, curl) are not browsers:
 * they pass these checks and need the same credentials as anyone else.
 * @module
 */
import type { IncomingMessage } from 'node:http';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** True for `localhost`, `127.x.x.x`, `::1` (also IPv4-mapped): addresses other machines cannot reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(h);
}

/** `Example.org:443` → `example.org`; `[::1]:4000` → `[::1]`; null when it is not a host. */
export function hostnameOf(hostHeader: string): string | null {
  const h = hostHeader.trim().toLowerCase().replace(/\.$/, '');
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/.exec(h);
  return m?.[1]?.replace(/\.$/, '') ?? null;
}

/** Options of {@link CrossSitePolicy}. */
export interface CrossSitePolicyOptions {
  /** PUBLIC_URL: its host is served and its origin allowed. */
  readonly publicUrl?: string | undefined;
  /** ALLOWED_HOSTS: more host names served. */
  readonly allowedHosts: readonly string[];
  /** CORS_ORIGINS: other origins allowed (the dev frontend). */
  readonly corsOrigins: readonly string[];
}

/** Why a request was refused, for the HTTP answer (its status comes from ERROR_CODE_TABLE). */
export interface Refusal {
  readonly code: 'invalid_request' | 'forbidden' | 'unsupported_media_type';
  readonly message: string;
}

/** Decides Host, Origin and CSRF questions for every request and upgrade. */
export class CrossSitePolicy {
  readonly #hosts: ReadonlySet<string>;
  readonly #origins: ReadonlySet<string>;

  constructor(o: CrossSitePolicyOptions) {
    const hosts = new Set(LOOPBACK_NAMES);
    const origins = new Set(o.corsOrigins);
    if (o.publicUrl !== undefined) {
      const url = new URL(o.publicUrl);
      hosts.add(url.hostname.toLowerCase());
      origins.add(url.origin);
    }
    for (const h of o.allowedHosts) hosts.add(h.toLowerCase());
    this.#hosts = hosts;
    this.#origins = origins;
  }

  /**
   * Null when the Host header names this gateway; else the refusal. Loopback
   * names are always served: a rebinding page cannot make a browser send them.
   */
  checkHost(req: IncomingMessage): Refusal | null {
    const host = req.headers.host;
    if (host === undefined || host === '') return { code: 'invalid_request', message: 'the request has no Host header' };
    const name = hostnameOf(host);
    if (name !== null && this.#hosts.has(name)) return null;
    return {
      code: 'forbidden',
      message: `Host "${host.slice(0, 100)}" is not served here; open the gateway by its PUBLIC_URL (or add the name to ALLOWED_HOSTS)`,
    };
  }

  /**
   * True when a browser on `Origin` may talk to us: no Origin (not a browser),
   * one of CORS_ORIGINS or PUBLIC_URL's, or the gateway's own origin (same host
   * as the Host header, which {@link checkHost} has vetted).
   */
  originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (this.#origins.has(origin)) return true;
    if (origin === 'null') return false;
    try {
      const host = req.headers.host;
      return host !== undefined && new URL(origin).host === host.toLowerCase() && this.checkHost(req) === null;
    } catch {
      return false;
    }
  }

  /** Null when the Origin may open a WebSocket; else the refusal. */
  checkOrigin(req: IncomingMessage): Refusal | null {
    if (this.originAllowed(req)) return null;
    return { code: 'forbidden', message: `origin ${String(req.headers.origin).slice(0, 100)} is not allowed; add it to CORS_ORIGINS` };
  }

  /**
   * Null when the request is not from another web page: an allowed (or no)
   * Origin, and not marked `Sec-Fetch-Site: cross-site` by the browser (a link
   * or form on another site), unless its origin is configured on purpose.
   * Guards reads that carry the session cookie (`GET /rooms/<id>/export.zip`).
   */
  checkCrossSite(req: IncomingMessage): Refusal | null {
    if (!this.originAllowed(req)) {
      return { code: 'forbidden', message: `cross-site request refused: origin ${String(req.headers.origin).slice(0, 100)} is not allowed (CORS_ORIGINS)` };
    }
    // A browser says so itself; only an origin configured on purpose may be on another site.
    if (req.headers['sec-fetch-site'] === 'cross-site' && !this.#origins.has(req.headers.origin ?? '')) {
      return { code: 'forbidden', message: 'cross-site request refused (Sec-Fetch-Site: cross-site)' };
    }
    return null;
  }

  /**
   * Null when a state-changing request cannot have come from another web page:
   * an allowed (or no) Origin, not marked cross-site by the browser, and a JSON
   * body (form and text bodies are what pages can send without a preflight).
   */
  checkCsrf(req: IncomingMessage): Refusal | null {
    const crossSite = this.checkCrossSite(req);
    if (crossSite) return crossSite;
    if (req.method === 'POST' && !isJson(req.headers['content-type'])) {
      return {
        code: 'unsupported_media_type',
        message: `POST needs Content-Type: application/json (got ${JSON.stringify(req.headers['content-type'] ?? '')}); form and text bodies are refused so that other web pages cannot submit them`,
      };
    }
    return null;
  }
}

function isJson(contentType: string | undefined): boolean {
  return contentType?.split(';', 1)[0]?.trim().toLowerCase() === 'application/json';
}

/**
 * The client's address: the socket's, or with `trustProxy` the last
 * X-Forwarded-For entry (the one our own reverse proxy appended).
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const socketAddress = req.socket.remoteAddress ?? 'unknown';
  if (!trustProxy) return socketAddress;
  const xff = req.headers['x-forwarded-for'];
  const raw = Array.isArray(xff) ? xff.join(',') : xff;
  const last = raw?.split(',').map((s) => s.trim()).filter((s) => s !== '').at(-1);
  return last ?? socketAddress;
}
