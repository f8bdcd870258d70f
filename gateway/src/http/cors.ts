/**
 * CORS for `/trpc` so the Vite dev server (another origin) can call the
 * gateway, cookies included. Only CORS_ORIGINS get CORS headers.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Sets CORS headers when the request's Origin is allowed. Returns true when the
 * request was a preflight and has been answered.
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  res.setHeader('Vary', 'Origin');
  const ok = origin !== undefined && allowed.includes(origin);
  if (ok) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    // The dev frontend sends the session cookie (fetch credentials: 'include').
    res.setHeader('Access-Control-Allow-Credentials', 'true');
  }
  if (req.method !== 'OPTIONS') return false;
  if (ok) {
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    // tRPC clients send content-type and trpc-accept; echo what the browser asks for.
    res.setHeader('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] ?? 'content-type');
    res.setHeader('Access-Control-Max-Age', '600');
  }
  res.writeHead(ok ? 204 : 403).end();
  return true;
}
