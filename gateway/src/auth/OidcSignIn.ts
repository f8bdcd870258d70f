/**
 * OpenID Connect sign-in (AUTH_MODE=oidc) with `openid-client`: the
 * authorization code flow with PKCE (S256), `state` and `nonce`. `start`
 * sends the browser to the provider; `callback` checks the answer, finds or
 * makes the account (Accounts.oidcAccount) and starts a session. The
 * provider's metadata is discovered at the first sign-in (and again after a
 * failure), so the gateway starts even while the provider is down.
 * @module
 */
import * as oidc from 'openid-client';
import { CodeCellError, OIDC_CALLBACK_PATH } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { Accounts } from './Accounts.js';
import type { AuthService } from './AuthService.js';
import { readCookie, serializeCookie } from './cookies.js';
import { newToken } from './secrets.js';
import type { IncomingHttpHeaders } from 'node:http';

/** How long a started sign-in may take at the provider. */
export const OIDC_PENDING_TTL_MS = 10 * 60_000;
/** Sign-ins in progress kept at most (the oldest are dropped). */
export const MAX_PENDING_OIDC = 10_000;
const PENDING_COOKIE = 'codecell_oidc';

/** Options of {@link OidcSignIn}. */
export interface OidcSignInOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret?: string | undefined;
  /** OIDC_SCOPES */
  readonly scopes: string;
  /** PUBLIC_URL (or the listening URL): the callback is `<baseUrl>/auth/oidc/callback`. */
  readonly baseUrl: () => string;
  readonly accounts: Accounts;
  readonly auth: AuthService;
  readonly secureCookies: boolean;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

interface Pending {
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
  readonly returnTo: string;
  readonly setup: string | undefined;
  readonly invite: string | undefined;
  readonly expiresAt: number;
}

/** A redirect the HTTP adapter sends: `Location` and the cookies to set. */
export interface Redirect {
  readonly location: string;
  readonly cookies: readonly string[];
}

/** The OIDC flow. */
export class OidcSignIn {
  readonly #o: OidcSignInOptions;
  readonly #pending = new Map<string, Pending>();
  #config: Promise<oidc.Configuration> | null = null;

  constructor(options: OidcSignInOptions) {
    this.#o = options;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  get redirectUri(): string {
    return `${this.#o.baseUrl()}${OIDC_CALLBACK_PATH}`;
  }

  /** Starts a sign-in: `query` may carry `returnTo` (a path), `setup` or `invite`. */
  async start(query: URLSearchParams): Promise<Redirect> {
    const config = await this.#discover();
    const verifier = oidc.randomPKCECodeVerifier();
    const pending: Pending = {
      verifier,
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      returnTo: safeReturnPath(query.get('returnTo')),
      setup: query.get('setup') ?? undefined,
      invite: query.get('invite') ?? undefined,
      expiresAt: this.#now() + OIDC_PENDING_TTL_MS,
    };
    const id = newToken();
    this.#remember(id, pending);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: this.#o.scopes,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { location: url.href, cookies: [serializeCookie({ name: PENDING_COOKIE, value: id, maxAgeS: OIDC_PENDING_TTL_MS / 1000, secure: this.#o.secureCookies, path: '/auth/oidc' })] };
  }

  /**
   * Finishes a sign-in from the provider's redirect (`currentUrl` as the browser
   * asked for it). Returns where to go and the session cookie.
   * @throws CodeCellError unauthorized (unknown or expired sign-in, provider refusal), forbidden, link_invalid
   */
  async callback(currentUrl: URL, headers: IncomingHttpHeaders): Promise<Redirect> {
    const id = readCookie(headers, PENDING_COOKIE);
    const pending = id === null ? undefined : this.#pending.get(id);
    if (id !== null) this.#pending.delete(id);
    if (!pending || pending.expiresAt <= this.#now()) throw new CodeCellError('unauthorized', 'this sign-in expired or was not started in this browser; start again');
    const providerError = currentUrl.searchParams.get('error');
    if (providerError !== null) {
      throw new CodeCellError('unauthorized', `the provider refused the sign-in: ${providerError} ${currentUrl.searchParams.get('error_description') ?? ''}`.trim());
    }
    const config = await this.#discover();
    // The provider redirected to PUBLIC_URL's callback; check against that URL, not how a proxy rewrote it.
    const callbackUrl = new URL(this.redirectUri);
    callbackUrl.search = currentUrl.search;
    let claims: oidc.IDToken | undefined;
    let profile: Record<string, unknown> = {};
    try {
      const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce });
      claims = tokens.claims();
      // Many providers put the profile (name, username) only behind the userinfo endpoint.
      if (claims && config.serverMetadata().userinfo_endpoint) profile = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    } catch (err) {
      this.#o.logger.warn('an OIDC sign-in failed', { error: String(err) });
      throw new CodeCellError('unauthorized', `the sign-in could not be completed (${err instanceof Error ? err.message : String(err)}); start again`, { cause: err });
    }
    if (!claims) throw new CodeCellError('unauthorized', 'the provider sent no ID token');
    const all: Record<string, unknown> = { ...profile, ...claims };
    const user = await this.#o.accounts.oidcAccount(
      {
        issuer: claims.iss,
        subject: claims.sub,
        displayName: stringClaim(all, 'name') ?? stringClaim(all, 'preferred_username') ?? stringClaim(all, 'email') ?? claims.sub,
        username: usernameClaim(all),
      },
      { setup: pending.setup, invite: pending.invite },
    );
    const session = await this.#o.auth.startSession(user.id);
    const clear = serializeCookie({ name: PENDING_COOKIE, value: '', maxAgeS: 0, secure: this.#o.secureCookies, path: '/auth/oidc' });
    return { location: pending.returnTo, cookies: [session, clear] };
  }

  #remember(id: string, pending: Pending): void {
    const now = this.#now();
    for (const [k, p] of this.#pending) {
      if (p.expiresAt > now && this.#pending.size < MAX_PENDING_OIDC) break;
      this.#pending.delete(k);
    }
    this.#pending.set(id, pending);
  }

  #discover(): Promise<oidc.Configuration> {
    const url = new URL(this.#o.issuer);
    const options = url.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {};
    this.#config ??= oidc.discovery(url, this.#o.clientId, this.#o.clientSecret, undefined, options).catch((err: unknown) => {
      this.#config = null;
      throw new CodeCellError('auth_provider_unavailable', `the OpenID Connect provider at ${this.#o.issuer} did not answer discovery: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    });
    return this.#config;
  }
}

/** A same-origin path to go back to after sign-in; anything else becomes `/`. */
export function safeReturnPath(raw: string | null): string {
  if (raw === null || !raw.startsWith('/') || raw.startsWith('//') || raw.includes('\\')) return '/';
  return raw.slice(0, 2000);
}

function stringClaim(claims: Record<string, unknown>, name: string): string | null {
  const v = claims[name];
  return typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, 64) : null;
}

function usernameClaim(claims: Record<string, unknown>): string | null {
  const v = stringClaim(claims, 'preferred_username');
  return v !== null && /^[A-Za-z0-9][A-Za-z0-9._-]{1,31}$/.test(v) ? v.toLowerCase() : null;
}
