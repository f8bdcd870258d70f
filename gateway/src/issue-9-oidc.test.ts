/**
 * Issue 9: OpenID Connect sign-in against a real provider (`oidc-provider`)
 * started in the test: authorization code + PKCE driven over HTTP like a
 * browser (gateway → provider login → consent → gateway callback), the
 * first admin through the setup link, ALLOW_SIGNUP=false admitting existing
 * accounts only, and a forged or replayed callback refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OIDC_START_PATH } from '@codecell/protocol';
import { trpcClient } from './test/clients.js';
import { startHosted } from './test/hosted.js';
import type { Hosted } from './test/hosted.js';
import { RedirectWalker, claimsOf, formAction, startTestProvider } from './test/oidcProvider.js';
import type { TestProvider } from './test/oidcProvider.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(env: Record<string, string> = {}): Promise<{ h: Hosted; idp: TestProvider }> {
  const idp = await startTestProvider();
  cleanups.push(() => idp.close());
  const h = await startHosted({ env: { AUTH_MODE: 'oidc', OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: 'codecell', OIDC_CLIENT_SECRET: 'test-secret', ...env } });
  cleanups.push(() => h.close());
  idp.registerClient({ clientId: 'codecell', clientSecret: 'test-secret', redirectUri: `${h.gw.url}/auth/oidc/callback` });
  return { h, idp };
}

/** Signs `login` in through the provider's pages, starting at `startPath`; returns the walker (its jar has the gateway's session). */
async function signIn(gwUrl: string, login: string, startPath: string): Promise<{ walker: RedirectWalker; final: Awaited<ReturnType<RedirectWalker['go']>> }> {
  const walker = new RedirectWalker();
  let page = await walker.go(`${gwUrl}${startPath}`);
  for (let step = 0; step < 4 && page.url.includes('/interaction/'); step++) {
    const prompt = /name="prompt" value="(\w+)"/.exec(page.body)?.[1];
    const form: Record<string, string> = prompt === 'login' ? { prompt, login, password: 'any' } : { prompt: prompt ?? 'consent' };
    page = await walker.go(formAction(page.body, page.url), form);
  }
  return { walker, final: page };
}

describe('issue 9: OpenID Connect sign-in (real provider)', () => {
  it('signs in with the authorization code flow and PKCE; the first admin comes through the setup link', async () => {
    const { h, idp } = await setup();
    const anon = trpcClient(h.gw.url);
    expect(await anon.auth.me.query()).toEqual({ mode: 'oidc', user: null, allowSignup: true, needsSetup: true, oidcStartPath: OIDC_START_PATH });
    const setupUrl = new URL(h.gw.setupLink ?? '');
    expect(setupUrl.pathname).toBe(OIDC_START_PATH);

    const start = `${OIDC_START_PATH}?${setupUrl.searchParams.toString()}&returnTo=/r/lab1`;
    const { walker, final } = await signIn(h.gw.url, 'ada', start);
    expect(walker.hops[0]).toBe(`GET ${h.gw.url}${start}`);
    const authorize = new URL(walker.hops[1]?.slice(4) ?? '');
    expect(authorize.origin).toBe(idp.issuer);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({ client_id: 'codecell', response_type: 'code', code_challenge_method: 'S256', redirect_uri: `${h.gw.url}/auth/oidc/callback`, scope: 'openid profile email' });
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(walker.hops.some((hop) => hop.startsWith(`GET ${h.gw.url}/auth/oidc/callback?code=`))).toBe(true);
    // Back where the sign-in started, with a session.
    expect(final.url).toBe(`${h.gw.url}/r/lab1`);
    const me = await trpcClient(h.gw.url, () => ({ cookie: walker.cookieHeaderFor(h.gw.url) })).auth.me.query();
    expect(me).toMatchObject({ mode: 'oidc', needsSetup: false, user: { kind: 'user', displayName: claimsOf('ada')['name'], username: 'ada', admin: true } });

    // Someone else signs in (sign-up is open by default with oidc): an ordinary account; the same person again is the same account.
    const bob = await signIn(h.gw.url, 'bob', OIDC_START_PATH);
    const bobApi = trpcClient(h.gw.url, () => ({ cookie: bob.walker.cookieHeaderFor(h.gw.url) }));
    const bobMe = (await bobApi.auth.me.query()).user;
    expect(bobMe).toMatchObject({ displayName: 'Bob Example', admin: false });
    const { roomId } = await bobApi.createRoom.mutate({});
    const again = await signIn(h.gw.url, 'bob', OIDC_START_PATH);
    const againApi = trpcClient(h.gw.url, () => ({ cookie: again.walker.cookieHeaderFor(h.gw.url) }));
    expect((await againApi.auth.me.query()).user?.userId).toBe(bobMe?.userId);
    expect((await againApi.getRoom.query({ roomId })).role).toBe('owner');
  });

  it('with ALLOW_SIGNUP=false admits only existing accounts (or invites)', async () => {
    const { h } = await setup({ ALLOW_SIGNUP: 'false' });
    await signIn(h.gw.url, 'ada', `${OIDC_START_PATH}?${new URL(h.gw.setupLink ?? '').searchParams.toString()}`);
    const { final } = await signIn(h.gw.url, 'mallory', OIDC_START_PATH);
    expect(final.status).toBe(403);
    expect(final.body).toMatch(/^Sign-in failed \(forbidden\): this gateway admits new accounts only with an invite link/);
  });

  it('refuses a callback that was not started in this browser, or is replayed', async () => {
    const { h } = await setup();
    const { walker } = await signIn(h.gw.url, 'ada', OIDC_START_PATH);
    const callback = walker.hops.find((hop) => hop.startsWith(`GET ${h.gw.url}/auth/oidc/callback?`))?.slice(4) ?? '';
    const stranger = await fetch(callback, { redirect: 'manual' });
    expect(stranger.status).toBe(401);
    expect(await stranger.text()).toMatch(/this sign-in expired or was not started in this browser/);
    const replay = await walker.go(callback);
    expect(replay.status).toBe(401);
  });

  it('says clearly when the provider is down, and refuses password sign-in in oidc mode', async () => {
    const h = await startHosted({ env: { AUTH_MODE: 'oidc', OIDC_ISSUER: 'http://127.0.0.1:1', OIDC_CLIENT_ID: 'x' } });
    cleanups.push(() => h.close());
    const res = await fetch(`${h.gw.url}${OIDC_START_PATH}`, { redirect: 'manual' });
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/auth_provider_unavailable.*did not answer discovery/);
    const err = await trpcClient(h.gw.url).auth.signIn.mutate({ username: 'ada', password: 'x' }).catch((e: Error) => e);
    expect(err).toMatchObject({ data: { codecellCode: 'forbidden' } });
  });
});
