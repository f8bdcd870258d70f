/**
 * Hocuspocus extension that applies room roles to `/collab` (issue 9): a room
 * is opened only by its members (`onAuthenticate`, refusal reasons
 * `"<code>: <message>"`), viewers and runners get read-only connections (their
 * updates are not applied: Hocuspocus answers them with SyncStatus false), and
 * the names others see in awareness are the authenticated display names, not
 * whatever a client claims (except with AUTH_MODE=none, where everyone is the
 * one local user and names are labels people pick).
 * @module
 */
import type { Extension, beforeHandleAwarenessPayload, onAuthenticatePayload } from '@hocuspocus/server';
import { roleAllows, toCodeCellError } from '@codecell/protocol';
import type { RoomRole } from '@codecell/protocol';
import type { Caller } from '../auth/Caller.js';
import type { RoomAccess } from '../access/RoomAccess.js';
import { CollabRejection } from './CollabRejection.js';

/** What every collab connection carries: the caller (set at the upgrade) and their role (set here). */
export interface CollabContext {
  readonly caller: Caller;
  readonly role?: RoomRole;
}

/** Options of {@link CollabAccess}. */
export interface CollabAccessOptions {
  readonly access: RoomAccess;
}

/** Refuses non-members, makes read-only connections below `editor`, names people by their account. */
export class CollabAccess implements Extension {
  readonly extensionName = 'codecell-collab-access';
  // After the room guard's checks of the room name and version, before anything loads.
  readonly priority = 1500;
  readonly #o: CollabAccessOptions;

  constructor(options: CollabAccessOptions) {
    this.#o = options;
  }

  async onAuthenticate({ documentName, context, connectionConfig }: onAuthenticatePayload<CollabContext>): Promise<Pick<CollabContext, 'role'>> {
    let role: RoomRole;
    try {
      role = await this.#o.access.require(context.caller, documentName, 'read');
    } catch (err) {
      const e = toCodeCellError(err);
      throw new CollabRejection(e.code, e.message);
    }
    if (!roleAllows(role, 'edit')) connectionConfig.readOnly = true;
    return { role };
  }

  /** Puts the caller's display name on the states their connection sends. */
  async beforeHandleAwareness({ states, context }: beforeHandleAwarenessPayload<CollabContext>): Promise<void> {
    const principal = context?.caller.principal;
    if (this.#o.access.mode === 'none' || principal === null || principal === undefined) return;
    for (const [clientId, state] of states) {
      const user: unknown = state['user'];
      if (typeof user !== 'object' || user === null) continue;
      states.set(clientId, { ...state, user: { ...(user as Record<string, unknown>), name: principal.displayName } });
    }
  }
}
