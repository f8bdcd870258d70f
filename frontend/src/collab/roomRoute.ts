/**
 * Page routes: a room is the URL `/r/<roomId>`; `/` makes a new room.
 * @module
 */
import { roomIdSchema } from '@codecell/protocol';

/** What a URL path asks for. */
export type Route =
  | { readonly kind: 'home' }
  | { readonly kind: 'room'; readonly roomId: string }
  | { readonly kind: 'notFound'; readonly message: string };

/**
 * Reads a `location.pathname`.
 * @example parseRoute('/r/abc_1') // { kind: 'room', roomId: 'abc_1' }
 */
export function parseRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '' || pathname === '/index.html') return { kind: 'home' };
  const m = /^\/r\/([^/]*)\/?$/.exec(pathname);
  if (!m) return { kind: 'notFound', message: `There is no page at ${pathname}.` };
  let id: string;
  try {
    id = decodeURIComponent(m[1] ?? '');
  } catch {
    id = m[1] ?? '';
  }
  if (!roomIdSchema.safeParse(id).success) {
    return { kind: 'notFound', message: `"${id}" is not a room name: use 1-64 letters, digits, "_" or "-".` };
  }
  return { kind: 'room', roomId: id };
}

/** The path of a room's page. */
export function roomPath(roomId: string): string {
  return `/r/${encodeURIComponent(roomId)}`;
}
