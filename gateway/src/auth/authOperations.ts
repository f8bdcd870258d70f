/**
 * The account procedures (`auth.*`) on top of {@link AuthService} (sessions,
 * tokens) and {@link Accounts} (who may have an account): signing in in any
 * way ends with a new session cookie.
 * @module
 */
import type { AuthOperations, SignedIn } from '../trpc/context.js';
import type { UserRow } from '../store/GatewayStore.js';
import type { Accounts } from './Accounts.js';
import type { AuthService } from './AuthService.js';
import { principalOf } from './AuthService.js';

/** Builds the `auth.*` operations. */
export function authOperations({ auth, accounts }: { readonly auth: AuthService; readonly accounts: Accounts }): AuthOperations {
  const signedIn = async (user: UserRow, address: string): Promise<SignedIn> => {
    const setCookie = await auth.startSession(user.id);
    const me = await accounts.me({ principal: principalOf(user), credential: null, address });
    return { me, setCookie };
  };
  return {
    me: (caller) => accounts.me(caller),
    setup: async (caller, o) => signedIn(await accounts.setup(o), caller.address),
    signUp: async (caller, o) => signedIn(await accounts.signUp(o), caller.address),
    signIn: async (caller, o) => signedIn(await accounts.signIn({ ...o, address: caller.address }), caller.address),
    signOut: (caller) => auth.endSession(caller),
    createToken: (caller, o) => auth.createToken(caller, o),
    listTokens: (caller) => auth.listTokens(caller),
    revokeToken: (caller, id) => auth.revokeToken(caller, id),
    createInvite: (caller, o) => accounts.createInvite(caller, o),
  };
}
