/**
 * Issue 9, finding "nobody is anybody", and local accounts: the first admin
 * through the setup link, sign-up by invite, sign-in with a rate limit on
 * failures, sign-out, API tokens (use and revocation), `startedBy` from the
 * account, rooms closed to non-members (and not probeable), AUTH_MODE=none
 * refused off loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';
import { openStream, trpcClient } from './test/clients.js';
import { createAdmin, setupToken, signUp, startHosted } from './test/hosted.js';
import type { Hosted } from './test/hosted.js';
import { outcome, testUser } from './test/sessions.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function hosted(env: Record<string, string> = {}): Promise<Hosted> {
  const h = await startHosted({ env });
  cleanups.push(() => h.close());
  return h;
}

const files = [{ path: 'main.py', content: 'print(1)' }];

describe('issue 9: nobody was anybody', () => {
  it('refuses anonymous callers everywhere in hosted mode: rooms, runs, streams', async () => {
    const { gw, fake } = await hosted();
    const anon = trpcClient(gw.url);
    expect(await outcome(anon.createRoom.mutate({}))).toBe('unauthorized');
    expect(await outcome(anon.runCode.mutate({ files }))).toBe('unauthorized');
    expect(await outcome(anon.getRoom.query({ roomId: 'cs101' }))).toBe('unauthorized');
    expect(await outcome(anon.rooms.mine.query())).toBe('unauthorized');
    expect(fake.requests).toEqual([]);
    expect(await anon.auth.me.query()).toEqual({ mode: 'local', user: null, allowSignup: false, needsSetup: true, oidcStartPath: null });
  });

  it('takes startedBy (and the run record) from the account, not from what the client sends', async () => {
    const { gw } = await hosted();
    const admin = await createAdmin(gw, { displayName: 'Ada Lovelace' });
    const { roomId } = await admin.trpc.createRoom.mutate({});
    const { jobId } = await admin.trpc.runCode.mutate({ roomId, files, startedBy: 'Mallory' });
    const s = admin.stream(jobId);
    cleanups.push(async () => s.ws.close());
    expect(await s.waitFor((m) => m.type === 'hello')).toMatchObject({ startedBy: 'Ada Lovelace' });
  });

  it('keeps other people out of a room: no read, run, rewrite or delete; existing and missing room ids look the same', async () => {
    const { gw } = await hosted();
    const ada = await createAdmin(gw);
    const bob = await signUp(gw, ada, { username: 'bob' });
    await ada.trpc.createRoom.mutate({ roomId: 'cs101', title: 'CS 101' });
    const taken = await outcome(bob.trpc.getRoom.query({ roomId: 'cs101' }));
    const missing = await outcome(bob.trpc.getRoom.query({ roomId: 'cs102' }));
    expect([taken, missing]).toEqual(['not_found', 'not_found']);
    const messages = await Promise.all(['cs101', 'cs102'].map((id) => bob.trpc.getRoom.query({ roomId: id }).catch((e: Error) => e.message.replace(id, '<id>'))));
    expect(messages[0]).toBe(messages[1]);
    expect(await outcome(bob.trpc.runCode.mutate({ roomId: 'cs101', files }))).toBe('not_found');
    expect(await outcome(bob.trpc.rooms.delete.mutate({ roomId: 'cs101' }))).toBe('not_found');
    // A taken id cannot be created again by someone else; the owner may repeat it.
    expect(await outcome(bob.trpc.createRoom.mutate({ roomId: 'cs101' }))).toBe('already_exists');
    expect(await ada.trpc.createRoom.mutate({ roomId: 'cs101' })).toEqual({ roomId: 'cs101', created: false });
    const bobInRoom = bob.join('cs101');
    cleanups.push(async () => bobInRoom.destroy());
    await expect.poll(() => bobInRoom.refusals).toEqual([expect.stringMatching(/^not_found: no room cs101, or you have no access/) as string]);
  });

  it('refuses AUTH_MODE=none on a non-loopback address unless ALLOW_INSECURE_NO_AUTH=true', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0', PUBLIC_URL: 'https://ide.example.org' })).toThrow(ConfigError);
    expect(() => loadConfig({ HOST: '0.0.0.0', PUBLIC_URL: 'https://ide.example.org' })).toThrow(/AUTH_MODE: "none" lets anyone .*ALLOW_INSECURE_NO_AUTH/);
    expect(loadConfig({ HOST: '0.0.0.0', PUBLIC_URL: 'https://ide.example.org', ALLOW_INSECURE_NO_AUTH: 'true' }).AUTH_MODE).toBe('none');
    expect(() => loadConfig({ HOST: '10.0.0.5', AUTH_MODE: 'local' })).toThrow(/PUBLIC_URL: needed when HOST=10.0.0.5/);
    expect(() => loadConfig({ AUTH_MODE: 'oidc' })).toThrow(/OIDC_ISSUER: needed/);
  });
});

describe('issue 9: local accounts', () => {
  it('creates the first admin once through the setup link, with an httpOnly SameSite=Lax cookie', async () => {
    const { gw } = await hosted();
    const token = setupToken(gw);
    const admin = testUser(gw.url);
    expect(await outcome(admin.trpc.auth.setup.mutate({ token: 'wrong', username: 'ada', password: 'long enough' }))).toBe('link_invalid');
    const me = await admin.trpc.auth.setup.mutate({ token, username: 'Ada', password: 'long enough', displayName: 'Ada' });
    expect(me).toMatchObject({ mode: 'local', user: { kind: 'user', username: 'ada', displayName: 'Ada', admin: true }, needsSetup: false });
    expect(admin.setCookies.at(-1)).toMatch(/^codecell_session=[\w-]{43}; Path=\/; Max-Age=2592000; HttpOnly; SameSite=Lax$/);
    expect(await admin.trpc.auth.me.query()).toMatchObject({ user: { username: 'ada' } });
    expect(await outcome(testUser(gw.url).trpc.auth.setup.mutate({ token, username: 'eve', password: 'long enough' }))).toBe('link_invalid');
  });

  it('marks the cookie Secure with the __Host- prefix when PUBLIC_URL is https', async () => {
    const { gw } = await hosted({ PUBLIC_URL: 'https://ide.example.org' });
    const admin = testUser(gw.url);
    await admin.trpc.auth.setup.mutate({ token: setupToken(gw), username: 'ada', password: 'long enough' });
    expect(admin.setCookies.at(-1)).toMatch(/^__Host-codecell_session=[\w-]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax; Secure$/);
    expect(gw.setupLink).toMatch(/^https:\/\/ide\.example\.org\/setup\?token=/);
  });

  it('signs up by invite only (unless ALLOW_SIGNUP), once per invite, with unique usernames', async () => {
    const { gw } = await hosted();
    const admin = await createAdmin(gw);
    const eve = testUser(gw.url);
    expect(await outcome(eve.trpc.auth.signUp.mutate({ username: 'eve', password: 'long enough' }))).toBe('forbidden');
    const invite = await admin.trpc.auth.createInvite.mutate({ expiresInHours: 1 });
    expect(invite.url).toBe(`${gw.url}/signup?invite=${invite.token}`);
    expect(await outcome(eve.trpc.auth.signUp.mutate({ username: 'admin', password: 'long enough', invite: invite.token }))).toBe('already_exists');
    expect(await eve.trpc.auth.signUp.mutate({ username: 'eve', password: 'long enough', invite: invite.token })).toMatchObject({ user: { username: 'eve', admin: false } });
    expect(await outcome(testUser(gw.url).trpc.auth.signUp.mutate({ username: 'mallory', password: 'long enough', invite: invite.token }))).toBe('link_invalid');
    expect(await outcome(eve.trpc.auth.createInvite.mutate({}))).toBe('forbidden');
    expect(await outcome(eve.trpc.auth.signUp.mutate({ username: 'x', password: 'short' }))).toBe('invalid_request');
  });

  it('opens sign-up with ALLOW_SIGNUP=true', async () => {
    const { gw } = await hosted({ ALLOW_SIGNUP: 'true' });
    const user = testUser(gw.url);
    expect(await user.trpc.auth.me.query()).toMatchObject({ allowSignup: true });
    expect(await user.trpc.auth.signUp.mutate({ username: 'grace', password: 'long enough' })).toMatchObject({ user: { username: 'grace' } });
  });

  it('signs in and out; a wrong password is unauthorized and too many failures are rate_limited per username', async () => {
    const { gw } = await hosted({ SIGNIN_MAX_FAILURES: '3' });
    const admin = await createAdmin(gw);
    await signUp(gw, admin, { username: 'bob', password: 'bobs password' });
    await signUp(gw, admin, { username: 'carol', password: 'carols password' });
    const browser = testUser(gw.url);
    expect(await outcome(browser.trpc.auth.signIn.mutate({ username: 'bob', password: 'nope' }))).toBe('unauthorized');
    expect(await outcome(browser.trpc.auth.signIn.mutate({ username: 'nobody', password: 'nope' }))).toBe('unauthorized');
    expect(await browser.trpc.auth.signIn.mutate({ username: 'BOB', password: 'bobs password' })).toMatchObject({ user: { username: 'bob' } });
    const cookie = browser.headers()['cookie'] ?? '';
    await browser.trpc.auth.signOut.mutate();
    expect(browser.setCookies.at(-1)).toMatch(/^codecell_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Lax$/);
    expect((await browser.trpc.auth.me.query()).user).toBeNull();
    // The old cookie is dead on the server too, not just forgotten by the browser.
    expect((await trpcClient(gw.url, () => ({ cookie })).auth.me.query()).user).toBeNull();

    for (let i = 0; i < 2; i++) expect(await outcome(browser.trpc.auth.signIn.mutate({ username: 'bob', password: 'wrong' }))).toBe('unauthorized');
    const limited = await browser.trpc.auth.signIn.mutate({ username: 'bob', password: 'bobs password' }).catch((e: Error) => e);
    expect(limited).toMatchObject({ data: { codecellCode: 'rate_limited' } });
    expect((limited as Error).message).toMatch(/too many failed sign-ins for this username; try again in \d+ s/);
    // Others are unaffected.
    expect(await browser.trpc.auth.signIn.mutate({ username: 'carol', password: 'carols password' })).toMatchObject({ user: { username: 'carol' } });
  });

  it('API tokens: shown once, work as Authorization: Bearer for programs, stop working when revoked', async () => {
    const { gw, fake } = await hosted();
    const admin = await createAdmin(gw);
    const { roomId } = await admin.trpc.createRoom.mutate({});
    const created = await admin.trpc.auth.createToken.mutate({ name: 'grader', expiresInDays: 30 });
    expect(created.token).toMatch(/^cct_[\w-]{43}$/);
    expect(await admin.trpc.auth.listTokens.query()).toEqual([{ id: created.id, name: 'grader', createdAt: created.createdAt, lastUsedAt: null, expiresAt: created.expiresAt }]);
    const program = testUser(gw.url, { bearer: created.token });
    expect(await program.trpc.auth.me.query()).toMatchObject({ user: { username: 'admin' } });
    const { jobId } = await program.trpc.runCode.mutate({ roomId, files });
    const s = openStream(gw.url, jobId, program.headers());
    cleanups.push(async () => s.ws.close());
    await s.waitFor((m) => m.type === 'hello');
    await expect.poll(() => fake.requests.length).toBe(1);
    expect((await admin.trpc.auth.listTokens.query())[0]?.lastUsedAt).toEqual(expect.any(Number));
    await admin.trpc.auth.revokeToken.mutate({ id: created.id });
    expect((await program.trpc.auth.me.query()).user).toBeNull();
    expect(await outcome(program.trpc.runCode.mutate({ roomId, files }))).toBe('unauthorized');
    expect((await openStream(gw.url, jobId, program.headers()).closed).code).toBe(4401);
    expect(await admin.trpc.auth.listTokens.query()).toEqual([]);
    expect(await outcome(admin.trpc.auth.revokeToken.mutate({ id: created.id }))).toBe('not_found');
  });
});
