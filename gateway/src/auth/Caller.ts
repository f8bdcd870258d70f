/**
 * Who is calling, as every entry point (tRPC, `/collab`, `/stream`) sees it
 * after authentication: the principal (or nobody), how they proved it, and
 * the network address quotas fall back to for guests.
 * @module
 */
import type { Principal } from '@codecell/protocol';

/** How a principal proved who they are. */
export type Credential =
  | { readonly kind: 'session'; readonly tokenHash: string }
  | { readonly kind: 'token'; readonly tokenId: string }
  /** AUTH_MODE=none: everyone is the local user. */
  | { readonly kind: 'none' };

/** The caller of one request or connection. */
export interface Caller {
  /** Null when not signed in. */
  readonly principal: Principal | null;
  readonly credential: Credential | null;
  /** The client's address (X-Forwarded-For's last entry with TRUST_PROXY). */
  readonly address: string;
}

/** AUTH_MODE=none's one user: owns every room, may do everything. */
export const LOCAL_USER: Principal = Object.freeze({ kind: 'user', userId: 'local', username: 'local', displayName: 'Local user', admin: true });

/** A caller nobody vouched for. */
export function anonymous(address: string): Caller {
  return { principal: null, credential: null, address };
}

/** What quotas count against: the account, or the address for guests and anonymous callers. */
export function quotaKeyOf(caller: Caller): string {
  return caller.principal?.kind === 'user' ? `user:${caller.principal.userId}` : `addr:${caller.address}`;
}
