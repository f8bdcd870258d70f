/**
 * The session cookie: httpOnly (no script reads it), SameSite=Lax (not sent
 * on cross-site POSTs or WebSockets), Secure and `__Host-` prefixed when the
 * gateway is served over https (PUBLIC_URL), Path=/.
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Cookie names: `__Host-` needs Secure, so plain http uses the bare name. */
export function sessionCookieName(secure: boolean): string {
  return secure ? '__Host-codecell_session' : 'codecell_session';
}

/** Reads one cookie from a request's headers. */
export function readCookie(headers: IncomingHttpHeaders, name: string): string | null {
  const raw = headers.cookie;
  if (raw === undefined) return null;
  for (const part of raw.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(value);
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** A `Set-Cookie` value. `maxAgeS` 0 deletes the cookie. */
export function serializeCookie(o: { name: string; value: string; maxAgeS: number; secure: boolean; path?: string }): string {
  const parts = [`${o.name}=${encodeURIComponent(o.value)}`, `Path=${o.path ?? '/'}`, `Max-Age=${o.maxAgeS}`, 'HttpOnly', 'SameSite=Lax'];
  if (o.secure) parts.push('Secure');
  return parts.join('; ');
}
