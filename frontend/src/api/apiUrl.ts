/**
 * Where the gateway lives. In production the gateway serves this bundle itself,
 * so the default is the page's own origin; the Vite dev server (:5173) talks to
 * a gateway on :4000.
 * @module
 */
import { COLLAB_PATH, COLLAB_PROTOCOL_VERSION } from '@codecell/protocol';

/** Gateway used by `vite` (dev) when VITE_API_URL is unset. */
export const DEV_API_URL = 'http://localhost:4000';

/** Inputs of {@link resolveApiBase}; all come from the page at startup. */
export interface ApiBaseOptions {
  /** `import.meta.env.VITE_API_URL`, if set. */
  readonly envUrl: string | undefined;
  /** `import.meta.env.DEV`. */
  readonly dev: boolean;
  /** `location.origin` of the page. */
  readonly origin: string;
}

/**
 * The gateway's base URL without a trailing slash.
 * @example resolveApiBase({ envUrl: undefined, dev: false, origin: 'https://ide.example' }) // 'https://ide.example'
 */
export function resolveApiBase(opts: ApiBaseOptions): string {
  const explicit = opts.envUrl?.trim();
  const base = explicit ? explicit : opts.dev ? DEV_API_URL : opts.origin;
  return base.replace(/\/+$/, '');
}

/** `http(s)://host/x` → `ws(s)://host/x/stream/<jobId>`. */
export function streamUrl(apiBase: string, jobId: string): string {
  const url = new URL(apiBase);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/stream/${encodeURIComponent(jobId)}`;
  url.search = '';
  url.hash = '';
  return url.toString();
}

/** `http(s)://host/x` → `ws(s)://host/x/stream`: the page's stream socket (issue 12). */
export function pageSocketUrl(apiBase: string): string {
  return streamUrl(apiBase, '').replace(/\/$/, '');
}

/** `http(s)://host/x` → `ws(s)://host/x/collab?protocolVersion=<COLLAB_PROTOCOL_VERSION>` (Hocuspocus, C1). */
export function collabUrl(apiBase: string): string {
  const url = new URL(apiBase);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${COLLAB_PATH}`;
  url.search = `?protocolVersion=${COLLAB_PROTOCOL_VERSION}`;
  url.hash = '';
  return url.toString();
}

/** The base URL this page uses, computed once. */
export const API_BASE: string = resolveApiBase({
  envUrl: import.meta.env.VITE_API_URL,
  dev: import.meta.env.DEV,
  origin: typeof location === 'undefined' ? DEV_API_URL : location.origin,
});
