/**
 * Who is signed in (hosted mode) and Sign out; sign-out forgets the session
 * on the server and reloads the page at the sign-in page.
 * @module
 */
import { useState } from 'react';
import type { Principal } from '@codecell/protocol';
import type { GatewayClient } from '../api/trpc';
import { SIGNIN_PATH } from '../collab/roomRoute';

export function AccountMenu({ client, user }: { readonly client: GatewayClient; readonly user: Principal }) {
  const [busy, setBusy] = useState(false);
  return (
    <span className="account" data-testid="account">
      <span className="account-name" title={user.username ? `@${user.username}` : 'guest'}>
        {user.displayName}
        {user.kind === 'guest' ? <span className="role-badge">guest</span> : null}
      </span>
      <button
        type="button"
        className="btn btn-ghost btn-small"
        data-testid="sign-out"
        disabled={busy}
        onClick={() => {
          setBusy(true);
          void client.auth.signOut.mutate().finally(() => location.assign(SIGNIN_PATH));
        }}
      >
        Sign out
      </button>
    </span>
  );
}
