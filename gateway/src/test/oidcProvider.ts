/**
 * A real OpenID Connect provider for tests (the npm `oidc-provider`, with its
 * development login and consent pages, which accept any login name), on port 0,
 * and a browser-like walk through its pages over HTTP.
 * @module
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/** A running provider. */
export interface TestProvider extends AsyncDisposable {
  readonly issuer: string;
  /** Registers the relying party (its callback URL is known only once the gateway listens). */
  registerClient(o: { clientId: string; clientSecret: string; redirectUri: string }): void;
  close(): Promise<void>;
}

/** Claims the provider gives account `login`. */
export function claimsOf(login: string): Record<string, string> {
  return { sub: `sub-${login}`, name: `${login[0]?.toUpperCase() ?? ''}${login.slice(1)} Example`, preferred_username: login, email: `${login}@example.test` };
}

/** Starts the HTTP server first (for the issuer's port); the provider answers once a client is registered. */
export async function startTestProvider(): Promise<TestProvider> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => void res.writeHead(503).end();
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    issuer,
    registerClient: ({ clientId, clientSecret, redirectUri }) => {
      const provider = new Provider(issuer, {
        clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post' }],
        claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'] },
        findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ ...claimsOf(id.replace(/^sub-/, '')), sub: id }) }),
        features: { devInteractions: { enabled: true } },
        cookies: { keys: ['codecell-test-cookie-key'] },
        pkce: { required: () => true },
      });
      // Login names become account ids prefixed like the claims' `sub`.
      const dev = provider.callback();
      handler = (req, res) => void dev(req, res);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A browser walking redirects by hand: one cookie jar per origin, every hop recorded. */
export class RedirectWalker {
  readonly #jars = new Map<string, Map<string, string>>();
  readonly hops: string[] = [];

  /** GET (or POST a form) `url` and follow redirects; returns the last response and its body. */
  async go(url: string, form?: Record<string, string>): Promise<{ url: string; status: number; body: string; headers: Headers }> {
    let current = new URL(url);
    let init: RequestInit = form ? { method: 'POST', body: new URLSearchParams(form), headers: { 'content-type': 'application/x-www-form-urlencoded' } } : { method: 'GET' };
    for (let i = 0; i < 20; i++) {
      this.hops.push(`${init.method ?? 'GET'} ${current.href}`);
      const res = await fetch(current, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string> | undefined), cookie: this.#cookieHeader(current) } });
      this.#keep(current, res);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        current = new URL(location, current);
        init = { method: 'GET' };
        continue;
      }
      return { url: current.href, status: res.status, body: await res.text(), headers: res.headers };
    }
    throw new Error(`too many redirects:\n${this.hops.join('\n')}`);
  }

  /** The cookies kept for `origin`, as a Cookie header. */
  cookieHeaderFor(origin: string): string {
    return this.#cookieHeader(new URL(origin));
  }

  #cookieHeader(url: URL): string {
    const jar: Map<string, string> = this.#jars.get(url.origin) ?? new Map<string, string>();
    return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  #keep(url: URL, res: Response): void {
    let jar = this.#jars.get(url.origin);
    if (!jar) this.#jars.set(url.origin, (jar = new Map<string, string>()));
    for (const c of res.headers.getSetCookie()) {
      const [pair = ''] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/max-age=0/i.test(c) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  }
}

/** The `action` of the page's form (the provider's login and consent pages have one). */
export function formAction(html: string, base: string): string {
  const m = /<form[^>]*action="([^"]+)"/.exec(html);
  if (!m?.[1]) throw new Error(`no form in:\n${html.slice(0, 500)}`);
  return new URL(m[1].replace(/&amp;/g, '&'), base).href;
}
