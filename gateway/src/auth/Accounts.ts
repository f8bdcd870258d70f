/**
 * Accounts (issue 9): the first admin through a one-time setup link printed
 * in the log, sign-up (open with ALLOW_SIGNUP, else by an admin's invite),
 * sign-in with a password (scrypt) and a limit on failed attempts per username
 * and per address, OIDC accounts made at their first sign-in, and guests (an
 * account with only a display name) for share links that allow them.
 * @module
 */
import { CodeCellError, OIDC_START_PATH, SETUP_PATH, SIGNUP_PATH } from '@codecell/protocol';
import type { AuthMode, InviteOutput, MeOutput, Principal } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';
import type { GatewayStore, UserRow } from '../store/GatewayStore.js';
import { principalOf, requireUser } from './AuthService.js';
import type { Caller } from './Caller.js';
import { LOCAL_USER } from './Caller.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { hashToken, newId, newToken } from './secrets.js';

/** Window of the failed sign-in counters. */
export const SIGNIN_WINDOW_MS = 15 * 60_000;
/** Invites last a week unless asked otherwise. */
export const DEFAULT_INVITE_HOURS = 24 * 7;

/** Options of {@link Accounts}. */
export interface AccountsOptions {
  readonly mode: AuthMode;
  readonly store: GatewayStore;
  readonly logger: Logger;
  /** ALLOW_SIGNUP */
  readonly allowSignup: boolean;
  /** SIGNIN_MAX_FAILURES per username; an address gets five times as many. */
  readonly maxSignInFailures: number;
  /** Where links point (PUBLIC_URL, else the listening URL). */
  readonly baseUrl: () => string;
  /** @default Date.now */
  readonly now?: () => number;
}

/** An OpenID Connect identity, as the provider's ID token says. */
export interface OidcIdentity {
  readonly issuer: string;
  readonly subject: string;
  readonly displayName: string;
  readonly username: string | null;
}

/** Creates and checks accounts. */
export class Accounts {
  readonly #o: AccountsOptions;
  /** Hash of the setup token while no admin exists. */
  #setupHash: string | null = null;

  constructor(options: AccountsOptions) {
    this.#o = options;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /**
   * With no admin yet (local or oidc mode), makes a one-time setup link and
   * logs it. Returns the link, or null when an admin exists.
   */
  async prepareSetup(): Promise<string | null> {
    if (this.#o.mode === 'none' || (await this.#o.store.countAdmins()) > 0) return null;
    const token = newToken();
    this.#setupHash = hashToken(token);
    const link = this.#o.mode === 'oidc' ? `${this.#o.baseUrl()}${OIDC_START_PATH}?setup=${token}` : `${this.#o.baseUrl()}${SETUP_PATH}?token=${token}`;
    this.#o.logger.warn(`no admin account yet: open this one-time link to create it: ${link}`);
    return link;
  }

  /** `auth.me`. */
  async me(caller: Caller): Promise<MeOutput> {
    const mode = this.#o.mode;
    return {
      mode,
      user: mode === 'none' ? LOCAL_USER : caller.principal,
      allowSignup: mode !== 'none' && this.#o.allowSignup,
      needsSetup: this.#setupHash !== null,
      oidcStartPath: mode === 'oidc' ? OIDC_START_PATH : null,
    };
  }

  /** Creates the first admin with the setup token (local mode). Rooms from AUTH_MODE=none become theirs. */
  async setup(o: { token: string; username: string; password: string; displayName?: string | undefined }): Promise<UserRow> {
    this.#needMode('local', 'create the admin with a password');
    this.#takeSetupToken(o.token);
    return this.#createLocal({ ...o, admin: true });
  }

  /** Consumes the setup token (also used by OIDC's `?setup=`). */
  #takeSetupToken(token: string): void {
    if (this.#setupHash === null || hashToken(token) !== this.#setupHash) {
      throw new CodeCellError('link_invalid', 'this setup link is not valid (an admin exists already, or the gateway restarted and logged a new link)');
    }
    this.#setupHash = null;
  }

  /** Creates an account (local mode): open sign-up, or with an invite. */
  async signUp(o: { username: string; password: string; displayName?: string | undefined; invite?: string | undefined }): Promise<UserRow> {
    this.#needMode('local', 'sign up with a password');
    if (await this.#o.store.findUserByUsername(o.username)) throw new CodeCellError('already_exists', `the username "${o.username}" is taken; choose another`);
    if (o.invite !== undefined) await this.#consumeInvite(o.invite);
    else if (!this.#o.allowSignup) throw new CodeCellError('forbidden', 'sign-up needs an invite link from an admin (ALLOW_SIGNUP is false)');
    return this.#createLocal({ ...o, admin: false });
  }

  /**
   * Checks a username and password. Refused with `rate_limited` (saying when
   * to retry) after SIGNIN_MAX_FAILURES failures for the username in 15 minutes,
   * or five times that from one address, even when the password is right.
   */
  async signIn(o: { username: string; password: string; address: string }): Promise<UserRow> {
    this.#needMode('local', 'sign in with a password');
    const now = this.#now();
    const windowStart = Math.floor(now / SIGNIN_WINDOW_MS) * SIGNIN_WINDOW_MS;
    const counters = [
      { key: `user:${o.username}`, kind: 'signin_failures', windowStart, limit: this.#o.maxSignInFailures },
      { key: `addr:${o.address}`, kind: 'signin_failures', windowStart, limit: this.#o.maxSignInFailures * 5 },
    ];
    for (const c of counters) {
      if ((await this.#o.store.getQuota(c)) >= c.limit) {
        const retryS = Math.ceil((windowStart + SIGNIN_WINDOW_MS - now) / 1000);
        throw new CodeCellError('rate_limited', `too many failed sign-ins for ${c.key.startsWith('user:') ? 'this username' : 'your address'}; try again in ${retryS} s (at ${new Date(windowStart + SIGNIN_WINDOW_MS).toISOString()})`);
      }
    }
    const user = await this.#o.store.findUserByUsername(o.username);
    if (user !== null && user.kind === 'user' && (await verifyPassword(o.password, user.passwordHash))) return user;
    if (user === null) await verifyPassword(o.password, null);
    for (const c of counters) await this.#o.store.addQuota({ ...c, amount: 1 });
    throw new CodeCellError('unauthorized', 'wrong username or password');
  }

  /** A single-use invite (admins only). */
  async createInvite(caller: Caller, o: { expiresInHours?: number | undefined }): Promise<InviteOutput> {
    const admin = requireUser(caller, 'create invites');
    if (!admin.admin) throw new CodeCellError('forbidden', 'only admins create invites');
    const token = newToken();
    const now = this.#now();
    const row = { id: newId(), tokenHash: hashToken(token), createdBy: admin.userId, createdAt: now, expiresAt: now + (o.expiresInHours ?? DEFAULT_INVITE_HOURS) * 3_600_000, usedAt: null };
    await this.#o.store.createInvite(row);
    return { id: row.id, token, url: `${this.#o.baseUrl()}${SIGNUP_PATH}?invite=${token}`, expiresAt: row.expiresAt };
  }

  /**
   * The account of an OIDC identity, made at its first sign-in when sign-up is
   * open, an invite or the setup token comes along (the first admin).
   */
  async oidcAccount(id: OidcIdentity, o: { setup?: string | undefined; invite?: string | undefined }): Promise<UserRow> {
    const existing = await this.#o.store.findUserByOidc(id.issuer, id.subject);
    if (existing) return existing;
    let admin = false;
    if (o.setup !== undefined) {
      this.#takeSetupToken(o.setup);
      admin = true;
    } else if (o.invite !== undefined) await this.#consumeInvite(o.invite);
    else if (!this.#o.allowSignup) throw new CodeCellError('forbidden', 'this gateway admits new accounts only with an invite link (ALLOW_SIGNUP is false)');
    const username = id.username !== null && !(await this.#o.store.findUserByUsername(id.username)) ? id.username : null;
    const user: UserRow = { ...blankUser(this.#now()), username, displayName: id.displayName, admin, oidcIssuer: id.issuer, oidcSubject: id.subject };
    await this.#o.store.createUser(user);
    if (admin) await this.#adoptRooms(user);
    this.#o.logger.info('created an account at its first OIDC sign-in', { userId: user.id, admin });
    return user;
  }

  /** A guest account (someone who joined through a link without signing in). */
  async createGuest(displayName: string): Promise<Principal> {
    const user: UserRow = { ...blankUser(this.#now()), kind: 'guest', displayName };
    await this.#o.store.createUser(user);
    return principalOf(user);
  }

  async #createLocal(o: { username: string; password: string; displayName?: string | undefined; admin: boolean }): Promise<UserRow> {
    const user: UserRow = { ...blankUser(this.#now()), username: o.username, displayName: o.displayName ?? o.username, passwordHash: await hashPassword(o.password), admin: o.admin };
    await this.#o.store.createUser(user);
    if (o.admin) await this.#adoptRooms(user);
    this.#o.logger.info(o.admin ? 'created the admin account' : 'created an account', { userId: user.id, username: user.username });
    return user;
  }

  async #adoptRooms(admin: UserRow): Promise<void> {
    const n = await this.#o.store.adoptOwnerlessRooms({ userId: admin.id, previousOwners: [LOCAL_USER.userId] });
    if (n > 0) this.#o.logger.info('the admin now owns the rooms made before accounts existed', { rooms: n });
  }

  async #consumeInvite(token: string): Promise<void> {
    if ((await this.#o.store.consumeInvite(hashToken(token), this.#now())) === null) {
      throw new CodeCellError('link_invalid', 'this invite link was used already, has expired or never existed; ask an admin for a new one');
    }
  }

  #needMode(mode: AuthMode, what: string): void {
    if (this.#o.mode !== mode) throw new CodeCellError('forbidden', `this gateway runs with AUTH_MODE=${this.#o.mode}: it cannot ${what}`);
  }
}

function blankUser(now: number): UserRow {
  return { id: newId(), kind: 'user', username: null, displayName: '', passwordHash: null, admin: false, oidcIssuer: null, oidcSubject: null, createdAt: now };
}
