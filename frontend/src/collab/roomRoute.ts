/**
 * Page routes: a room is the URL `/r/<roomId>`; `/` makes a new room (with
 * AUTH_MODE=none; `/?language=go` one for Go) or shows My rooms (hosted).
 * Hosted mode adds the sign-in, first-admin setup, sign-up and share-link pages.
 * @module
 */
import { SETUP_PATH, SHARE_LINK_PATH, SIGNUP_PATH, resolveRuntimeId, roomIdSchema } from '@codecell/protocol';
import type { RuntimeId } from '@codecell/protocol';

/** What a URL asks for. */
export type Route =
  /** `language`: the `?language=` of `/` (an id or alias), for the new room; null without one or for an unknown one. */
  | { readonly kind: 'home'; readonly language: RuntimeId | null }
  | { readonly kind: 'rooms' }
  | { readonly kind: 'signin' }
  | { readonly kind: 'setup'; readonly token: string }
  | { readonly kind: 'signup'; readonly invite: string | null }
  | { readonly kind: 'join'; readonly token: string }
  | { readonly kind: 'room'; readonly roomId: string }
  | { readonly kind: 'notFound'; readonly message: string };

/** Path of the sign-in page (`?returnTo=` where to go afterwards). */
export const SIGNIN_PATH = '/signin';
/** Path of My rooms. */
export const ROOMS_PATH = '/rooms';

/**
 * Reads a `location.pathname` (and `location.search` for the token pages).
 * @example parseRoute('/r/abc_1') // { kind: 'room', roomId: 'abc_1' }
 */
export function parseRoute(pathname: string, search = ''): Route {
  const query = new URLSearchParams(search);
  if (pathname === '/' || pathname === '' || pathname === '/index.html') {
    const language = rawParam(search, 'language');
    return { kind: 'home', language: language === null ? null : (resolveRuntimeId(language) ?? null) };
  }
  if (pathname === ROOMS_PATH) return { kind: 'rooms' };
  if (pathname === SIGNIN_PATH) return { kind: 'signin' };
  if (pathname === SETUP_PATH) return { kind: 'setup', token: query.get('token') ?? '' };
  if (pathname === SIGNUP_PATH) return { kind: 'signup', invite: query.get('invite') };
  if (pathname.startsWith(SHARE_LINK_PATH) && pathname.length > SHARE_LINK_PATH.length) {
    return { kind: 'join', token: pathname.slice(SHARE_LINK_PATH.length).replace(/\/$/, '') };
  }
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

/**
 * A query parameter with `+` kept as `+` (URLSearchParams reads it as a space,
 * which would make `?language=c++` C): people type these by hand.
 */
function rawParam(search: string, name: string): string | null {
  for (const pair of search.replace(/^\?/, '').split('&')) {
    const eq = pair.indexOf('=');
    if ((eq < 0 ? pair : pair.slice(0, eq)) !== name) continue;
    try {
      return decodeURIComponent(eq < 0 ? '' : pair.slice(eq + 1));
    } catch {
      return null;
    }
  }
  return null;
}

/** `/?language=<id>`: the page that creates a room in that language. */
export function newRoomPath(language: RuntimeId): string {
  return `/?language=${encodeURIComponent(language)}`;
}

/** The path of a room's page. */
export function roomPath(roomId: string): string {
  return `/r/${encodeURIComponent(roomId)}`;
}

/** `/signin?returnTo=<path>`: back where the visitor was after signing in. */
export function signInPath(returnTo: string): string {
  return `${SIGNIN_PATH}?returnTo=${encodeURIComponent(returnTo)}`;
}

/** The `returnTo` of a sign-in URL when it is a path of this site, else `/`. */
export function returnPath(search: string): string {
  const raw = new URLSearchParams(search).get('returnTo');
  return raw !== null && raw.startsWith('/') && !raw.startsWith('//') ? raw : '/';
}
