/**
 * `auth.*`: who am I, first-admin setup, sign-up, sign-in, sign-out, API
 * tokens and invites. Signing in sets the session cookie on the response.
 * @module
 */
import {
  apiTokenInfoSchema,
  createInviteInputSchema,
  createTokenInputSchema,
  createTokenOutputSchema,
  inviteOutputSchema,
  meOutputSchema,
  okOutputSchema,
  revokeTokenInputSchema,
  setupInputSchema,
  signInInputSchema,
  signUpInputSchema,
} from '@codecell/protocol';
import { z } from 'zod';
import type { GatewayContext, SignedIn } from './context.js';
import { done, procedure, router } from './init.js';

/** Sets the new session's cookie on the response and answers with `auth.me`. */
async function signedIn(ctx: GatewayContext, signing: Promise<SignedIn>): Promise<SignedIn['me']> {
  const { me, setCookie } = await signing;
  ctx.setCookie(setCookie);
  return me;
}

export const authRouter = router({
  /** The caller (null when not signed in), the auth mode, and whether sign-up or setup are open. */
  me: procedure.output(meOutputSchema).query(({ ctx }) => ctx.auth.me(ctx.caller)),
  /** Creates the first admin with the token of the setup link printed in the log (AUTH_MODE=local); signs them in. */
  setup: procedure
    .input(setupInputSchema)
    .output(meOutputSchema)
    .mutation(({ ctx, input }) => signedIn(ctx, ctx.auth.setup(ctx.caller, input))),
  /** Creates an account (ALLOW_SIGNUP, or with an invite) and signs it in. */
  signUp: procedure
    .input(signUpInputSchema)
    .output(meOutputSchema)
    .mutation(({ ctx, input }) => signedIn(ctx, ctx.auth.signUp(ctx.caller, input))),
  /** Signs in with username and password (rate-limited per username and address). */
  signIn: procedure
    .input(signInInputSchema)
    .output(meOutputSchema)
    .mutation(({ ctx, input }) => signedIn(ctx, ctx.auth.signIn(ctx.caller, input))),
  /** Ends the session and deletes the cookie. */
  signOut: procedure.output(okOutputSchema).mutation(({ ctx }) => done(ctx.auth.signOut(ctx.caller).then(ctx.setCookie))),
  /** A new API token (shown this once) for `Authorization: Bearer`. */
  createToken: procedure
    .input(createTokenInputSchema)
    .output(createTokenOutputSchema)
    .mutation(({ ctx, input }) => ctx.auth.createToken(ctx.caller, input)),
  listTokens: procedure.output(z.array(apiTokenInfoSchema)).query(({ ctx }) => ctx.auth.listTokens(ctx.caller)),
  revokeToken: procedure
    .input(revokeTokenInputSchema)
    .output(okOutputSchema)
    .mutation(({ ctx, input }) => done(ctx.auth.revokeToken(ctx.caller, input.id))),
  /** A single-use sign-up link (admins). */
  createInvite: procedure
    .input(createInviteInputSchema)
    .output(inviteOutputSchema)
    .mutation(({ ctx, input }) => ctx.auth.createInvite(ctx.caller, input)),
});
