/**
 * A hosted gateway for tests (AUTH_MODE=local by default, in-memory database,
 * a scripted fake sandbox) and its first users: the admin made through the
 * setup link, others signed up with invites.
 * @module
 */
import { silentLogger } from '@codecell/server-kit';
import { loadConfig } from '../config.js';
import { createGateway } from '../server.js';
import type { Gateway, GatewayOverrides } from '../server.js';
import { startFakeSandboxServer } from './fakeSandboxServer.js';
import type { FakeHandler, FakeSandboxServer } from './fakeSandboxServer.js';
import { testUser } from './sessions.js';
import type { TestUser } from './sessions.js';

/** A running hosted gateway; `close` stops it and its fake sandbox. */
export interface Hosted {
  readonly gw: Gateway;
  readonly fake: FakeSandboxServer;
  close(): Promise<void>;
}

/** Starts a gateway with `env` over AUTH_MODE=local on loopback, against a fake sandbox answering with `handler`. */
export async function startHosted(o: { env?: Record<string, string>; handler?: FakeHandler; overrides?: GatewayOverrides } = {}): Promise<Hosted> {
  const fake = await startFakeSandboxServer(o.handler ?? (() => undefined));
  try {
    const config = loadConfig({ PORT: '0', SANDBOX_ADDR: fake.url, COLLAB_DB: ':memory:', AUTH_MODE: 'local', LOG_LEVEL: 'silent', ...o.env });
    const gw = await createGateway(config, silentLogger, o.overrides);
    return { gw, fake, close: async () => (await gw.close(), await fake.close()) };
  } catch (err) {
    await fake.close();
    throw err;
  }
}

/** The token of the setup link the gateway logged. */
export function setupToken(gw: Gateway): string {
  const link = gw.setupLink;
  if (link === null) throw new Error('the gateway has no setup link (an admin exists)');
  const token = new URL(link).searchParams.get('token') ?? new URL(link).searchParams.get('setup');
  if (!token) throw new Error(`no token in ${link}`);
  return token;
}

/** Creates the first admin through the setup link and returns them signed in. */
export async function createAdmin(gw: Gateway, o: { username?: string; displayName?: string } = {}): Promise<TestUser> {
  const admin = testUser(gw.url);
  await admin.trpc.auth.setup.mutate({ token: setupToken(gw), username: o.username ?? 'admin', password: 'correct horse battery', displayName: o.displayName ?? 'The Admin' });
  return admin;
}

/** Signs up `username` with an invite made by `admin`; returns them signed in. */
export async function signUp(gw: Gateway, admin: TestUser, o: { username: string; displayName?: string; password?: string }): Promise<TestUser> {
  const { token } = await admin.trpc.auth.createInvite.mutate({});
  const user = testUser(gw.url);
  await user.trpc.auth.signUp.mutate({ username: o.username, password: o.password ?? 'a long password', displayName: o.displayName ?? o.username, invite: token });
  return user;
}
