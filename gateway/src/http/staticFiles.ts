/**
 * Serves the built frontend: files under one root with their content types,
 * SPA fallback to `index.html` for page routes, and no way out of the root.
 * @module
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';

/** Content types by file extension. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
};

/**
 * Answers a GET/HEAD for a file under `root`. Unknown paths without an
 * extension get `index.html` (client-side routes); missing assets get 404.
 */
export async function serveStatic(req: IncomingMessage, res: ServerResponse, root: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    return;
  }
  const base = resolve(root);
  const file = resolveInside(base, new URL(req.url ?? '/', 'http://x').pathname);
  if (file === null) {
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('bad path\n');
    return;
  }
  let target = (await isFile(file)) ? file : null;
  if (target === null && (await isFile(resolve(file, 'index.html')))) target = resolve(file, 'index.html');
  if (target === null && extname(file) === '') target = resolve(base, 'index.html');
  if (target === null || !(await isFile(target))) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
    return;
  }
  const size = (await stat(target)).size;
  const type = CONTENT_TYPES[extname(target).toLowerCase()] ?? 'application/octet-stream';
  // Vite puts content-hashed files in /assets: cache those for good, revalidate the rest.
  const immutable = target.startsWith(resolve(base, 'assets') + sep);
  res.writeHead(200, {
    'Content-Type': type,
    'Content-Length': size,
    'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(target);
  stream.on('error', () => res.destroy());
  res.on('close', () => stream.destroy());
  stream.pipe(res);
}

/** The absolute file for `urlPath` under `base`, or null when it would leave `base`. */
export function resolveInside(base: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const full = resolve(base, `.${decoded.startsWith('/') ? decoded : `/${decoded}`}`);
  return full === base || full.startsWith(base + sep) ? full : null;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
