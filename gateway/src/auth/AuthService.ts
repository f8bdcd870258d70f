/**
 * The one place credentials are checked (issue 9): the session cookie and
 * `Authorization: Bearer <API token>` (a later issue also takes Judge0's
 * `X-Auth-Token`: call {@link AuthService.authenticateToken}). Also starts and
 * ends sessions and manages API tokens. With AUTH_MODE=none every request is
 * the local user. Used as a {@link GatewayExtension} (`onAuthenticate`).
 * @module
 */
import { CodeCellError } from '@codecell/protocol';
import type { ApiTokenInfo, AuthMode, CreateTokenOutput, Principal } from '@codecell/protocol';
import type { Authenticated, AuthenticatePayload, GatewayExtension } from '../extensions.js';
import type { ApiTokenRow, GatewayStore, UserRow } from '../store/GatewayStore.js';
import type { Caller } from './Caller.js';
import { LOCAL_USER } from './Caller.js';
import { readCookie, serializeCookie, sessionCookieName } from './cookies.js';
import { API_TOKEN_PREFIX, hashToken, newId, newToken } from './secrets.js';

/** Options of {@link AuthService}. */
export interface AuthServiceOptions {
  readonly mode: AuthMode;
  readonly store: GatewayStore;
  /** SESSION_TTL_HOURS in ms. */
  readonly sessionTtlMs: number;
  /** Cookies get Secure and the `__Host-` prefix (PUBLIC_URL is https). */
  readonly secureCookies: boolean;
  /** Clock, epoch ms. @default Date.now */
  readonly now?: () => number;
}

/** The caller as `auth.me` and the people list show them. */
export function principalOf(user: UserRow): Principal {
  return { kind: user.kind, userId: user.id, username: user.username, displayName: user.displayName, admin: user.admin };
}

/** Sessions, API tokens and request authentication. */
export class AuthService implements GatewayExtension {
  readonly extensionName = 'codecell-auth';
  readonly #o: AuthServiceOptions;
  readonly #cookie: string;

  constructor(options: AuthServiceOptions) {
    this.#o = options;
    this.#cookie = sessionCookieName(options.secureCookies);
  }

  get mode(): AuthMode {
    return this.#o.mode;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /** Who sent these headers: Bearer token first, then the session cookie. Invalid credentials count as none. */
  async onAuthenticate({ headers }: AuthenticatePayload): Promise<Authenticated | null> {
    if (this.#o.mode === 'none') return { principal: LOCAL_USER, credential: { kind: 'none' } };
    const auth = headers.authorization;
    if (auth !== undefined && /^bearer /i.test(auth)) return this.authenticateToken(auth.slice(7).trim());
    const session = readCookie(headers, this.#cookie);
    if (session === null || session === '') return null;
    const tokenHash = hashToken(session);
    const found = await this.#o.store.getSession(tokenHash, this.#now());
    return found ? { principal: principalOf(found.user), credential: { kind: 'session', tokenHash } } : null;
  }

  /** The account of an API token, or null when it is unknown, revoked or expired. */
  async authenticateToken(token: string): Promise<Authenticated | null> {
    if (this.#o.mode === 'none') return { principal: LOCAL_USER, credential: { kind: 'none' } };
    if (!token.startsWith(API_TOKEN_PREFIX) || token.length > 200) return null;
    const found = await this.#o.store.useApiToken(hashToken(token), this.#now());
    return found ? { principal: principalOf(found.user), credential: { kind: 'token', tokenId: found.token.id } } : null;
  }

  /** Starts a session for `userId`; returns the `Set-Cookie` value. */
  async startSession(userId: string): Promise<string> {
    const token = newToken();
    const now = this.#now();
    await this.#o.store.createSession({ tokenHash: hashToken(token), userId, createdAt: now, expiresAt: now + this.#o.sessionTtlMs });
    return serializeCookie({ name: this.#cookie, value: token, maxAgeS: Math.floor(this.#o.sessionTtlMs / 1000), secure: this.#o.secureCookies });
  }

  /** Ends the caller's session (if they have one); returns the `Set-Cookie` value that deletes the cookie. */
  async endSession(caller: Caller): Promise<string> {
    if (caller.credential?.kind === 'session') await this.#o.store.deleteSession(caller.credential.tokenHash);
    return serializeCookie({ name: this.#cookie, value: '', maxAgeS: 0, secure: this.#o.secureCookies });
  }

  /** A new API token of the caller; the secret is in the answer only. */
  async createToken(caller: Caller, o: { name: string; expiresInDays?: number | undefined }): Promise<CreateTokenOutput> {
    const user = this.#requireAccount(caller, 'create API tokens');
    const token = newToken(API_TOKEN_PREFIX);
    const now = this.#now();
    const row: ApiTokenRow = {
      id: newId(),
      userId: user.userId,
      name: o.name,
      tokenHash: hashToken(token),
      createdAt: now,
      lastUsedAt: null,
      expiresAt: o.expiresInDays === undefined ? null : now + o.expiresInDays * 86_400_000,
      revokedAt: null,
    };
    await this.#o.store.createApiToken(row);
    return { ...tokenInfo(row), token };
  }

  async listTokens(caller: Caller): Promise<ApiTokenInfo[]> {
    const user = this.#requireAccount(caller, 'list API tokens');
    return (await this.#o.store.listApiTokens(user.userId)).map(tokenInfo);
  }

  /** Revokes one of the caller's tokens: requests with it are refused from now on. */
  async revokeToken(caller: Caller, id: string): Promise<void> {
    const user = this.#requireAccount(caller, 'revoke API tokens');
    if (!(await this.#o.store.revokeApiToken({ userId: user.userId, id, now: this.#now() }))) {
      throw new CodeCellError('not_found', `you have no API token ${id}; auth.listTokens shows yours`);
    }
  }

  #requireAccount(caller: Caller, what: string): Principal {
    if (this.#o.mode === 'none') throw new CodeCellError('forbidden', `AUTH_MODE=none has no accounts, so nothing needs an API token; set AUTH_MODE=local or oidc to ${what}`);
    return requireUser(caller, what);
  }
}

/** The caller's account; guests and anonymous callers are refused (`unauthorized` / `forbidden`). */
export function requireUser(caller: Caller, what: string): Principal {
  const p = caller.principal;
  if (p === null) throw new CodeCellError('unauthorized', `sign in to ${what}`);
  if (p.kind !== 'user') throw new CodeCellError('forbidden', `guests cannot ${what}; sign in with an account`);
  return p;
}

function tokenInfo(t: ApiTokenRow): ApiTokenInfo {
  return { id: t.id, name: t.name, createdAt: t.createdAt, lastUsedAt: t.lastUsedAt, expiresAt: t.expiresAt };
}
