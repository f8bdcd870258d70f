/**
 * Identity (issue 9): how the gateway is configured to know people
 * (`AUTH_MODE`), who the caller is (`auth.me`), and the inputs of the account
 * procedures (setup, sign-up, sign-in, API tokens, invites). Sessions travel
 * in an httpOnly cookie; programs send an API token as `Authorization: Bearer`.
 * @module
 */
import { z } from 'zod';

/**
 * - `none`: one local user owns everything (the default on loopback).
 * - `local`: accounts with username and password kept by the gateway.
 * - `oidc`: sign-in through an OpenID Connect provider.
 */
export const AUTH_MODES = ['none', 'local', 'oidc'] as const;
export const authModeSchema = z.enum(AUTH_MODES);
export type AuthMode = z.infer<typeof authModeSchema>;

/** Path of the first-admin setup page (`?token=` is the one-time token printed in the log). */
export const SETUP_PATH = '/setup';
/** Path of the sign-up page (`?invite=` carries an invite token). */
export const SIGNUP_PATH = '/signup';
/** Starts an OpenID Connect sign-in (`?returnTo=/r/x`, optional `setup=` or `invite=`): a browser navigation, not a fetch. */
export const OIDC_START_PATH = '/auth/oidc/start';
/** Where the OpenID Connect provider sends the browser back (register `<PUBLIC_URL>/auth/oidc/callback` with it). */
export const OIDC_CALLBACK_PATH = '/auth/oidc/callback';

/** 2-32 of `[a-z0-9._-]`, starting with a letter or digit; compared case-insensitively. */
export const usernameSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{1,31}$/, 'username must be 2-32 of [A-Za-z0-9._-], starting with a letter or digit')
  .transform((s) => s.toLowerCase());
export const passwordSchema = z.string().min(8, 'password must have at least 8 characters').max(256, 'password may have at most 256 characters');
/** What others see on cursors, in the people list and as `startedBy`. */
export const displayNameSchema = z.string().trim().min(1, 'display name is empty').max(64, 'display name may have at most 64 characters');

/** The caller as the gateway knows them. Guests came in anonymously through a share link. */
export const principalSchema = z.object({
  kind: z.enum(['user', 'guest']),
  userId: z.string(),
  /** Null for guests and OIDC accounts without a preferred username. */
  username: z.string().nullable(),
  displayName: z.string(),
  /** Admins create invites. The first account (setup link) is one. */
  admin: z.boolean(),
});
export type Principal = z.infer<typeof principalSchema>;

/** Output of `auth.me`: everything a page needs to decide what to show first. */
export const meOutputSchema = z.object({
  mode: authModeSchema,
  /** The caller, or null when not signed in. In mode `none` always the local user. */
  user: principalSchema.nullable(),
  /** Sign-up without an invite is open (`ALLOW_SIGNUP`). */
  allowSignup: z.boolean(),
  /** No admin exists yet: the log has a one-time setup link. */
  needsSetup: z.boolean(),
  /** `OIDC_START_PATH` in mode `oidc`, else null. */
  oidcStartPath: z.string().nullable(),
});
export type MeOutput = z.infer<typeof meOutputSchema>;

export const setupInputSchema = z.strictObject({
  /** The token of the setup link printed in the gateway's log. */
  token: z.string().min(1).max(200),
  username: usernameSchema,
  password: passwordSchema,
  displayName: displayNameSchema.optional(),
});
export type SetupInput = z.input<typeof setupInputSchema>;

export const signUpInputSchema = z.strictObject({
  username: usernameSchema,
  password: passwordSchema,
  displayName: displayNameSchema.optional(),
  /** Required unless `ALLOW_SIGNUP=true`. */
  invite: z.string().min(1).max(200).optional(),
});
export type SignUpInput = z.input<typeof signUpInputSchema>;

export const signInInputSchema = z.strictObject({
  username: usernameSchema,
  password: z.string().min(1).max(256),
});
export type SignInInput = z.input<typeof signInInputSchema>;

/** An API token as listed (the secret itself is shown once, by `auth.createToken`). */
export const apiTokenInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.int(),
  lastUsedAt: z.int().nullable(),
  expiresAt: z.int().nullable(),
});
export type ApiTokenInfo = z.infer<typeof apiTokenInfoSchema>;

export const createTokenInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(64),
  /** Days until it stops working; omit for no expiry. */
  expiresInDays: z.int().positive().max(3650).optional(),
});
export type CreateTokenInput = z.input<typeof createTokenInputSchema>;

/** `token` is shown this once: the gateway keeps only its hash. Send it as `Authorization: Bearer <token>`. */
export const createTokenOutputSchema = apiTokenInfoSchema.extend({ token: z.string() });
export type CreateTokenOutput = z.infer<typeof createTokenOutputSchema>;

export const revokeTokenInputSchema = z.strictObject({ id: z.string().min(1).max(64) });

export const createInviteInputSchema = z.strictObject({
  /** Hours until the invite stops working. @default 168 (a week) */
  expiresInHours: z.int().positive().max(24 * 365).optional(),
});
/** A single-use sign-up invite; `url` is `<PUBLIC_URL>/signup?invite=<token>`. */
export const inviteOutputSchema = z.object({ id: z.string(), token: z.string(), url: z.string(), expiresAt: z.int() });
export type InviteOutput = z.infer<typeof inviteOutputSchema>;

/** `{ ok: true }`, the output of mutations with nothing else to say. */
export const okOutputSchema = z.object({ ok: z.literal(true) });
