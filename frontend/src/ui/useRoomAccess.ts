/**
 * The caller's role in the open room, from `getRoom` (the server decides;
 * the page only reflects it): read again whenever the room reconnects (a role
 * change makes it reconnect). With AUTH_MODE=none the local user owns every
 * room, and a room opened from a link that is not registered yet is created
 * (the gateway seeds it, C4).
 * @module
 */
import { useEffect, useState } from 'react';
import type { GetRoomOutput, MeOutput, RoomRole } from '@codecell/protocol';
import { API_BASE } from '../api/apiUrl';
import type { GatewayClient } from '../api/trpc';
import { toUserError } from '../api/userError';
import type { UserError } from '../api/userError';

/** What the page knows of its access to the room. */
export interface RoomAccessState {
  /** Null while unknown. */
  readonly role: RoomRole | null;
  /** Why the room cannot be opened (no access), or null. */
  readonly error: UserError | null;
  /** The room's caps (MAX_FILE_BYTES…), once `getRoom` answered. */
  readonly limits: GetRoomOutput['limits'] | null;
}

export function useRoomAccess(o: { readonly client: GatewayClient; readonly roomId: string; readonly me: MeOutput; readonly generation: number }): RoomAccessState {
  const { client, roomId, me, generation } = o;
  const [state, setState] = useState<RoomAccessState>({ role: me.mode === 'none' ? 'owner' : null, error: null, limits: null });
  useEffect(() => {
    const ac = new AbortController();
    if (me.mode === 'none') {
      void ensureRoom(client, roomId, ac.signal).then((limits) => {
        if (!ac.signal.aborted) setState({ role: 'owner', error: null, limits });
      });
    } else {
      client.getRoom.query({ roomId }, { signal: ac.signal }).then(
        (room) => setState({ role: room.role, error: null, limits: room.limits ?? null }),
        (err: unknown) => {
          if (!ac.signal.aborted) setState({ role: null, error: toUserError(err, API_BASE), limits: null });
        },
      );
    }
    return () => ac.abort();
  }, [client, roomId, me.mode, generation]);
  return state;
}

/** getRoom, then createRoom when missing; retried with backoff while the gateway is unreachable. Returns the room's caps. */
async function ensureRoom(client: GatewayClient, roomId: string, signal: AbortSignal): Promise<GetRoomOutput['limits'] | null> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      const room = await client.getRoom.query({ roomId }, { signal });
      if (!room.exists) await client.createRoom.mutate({ roomId }, { signal });
      return room.limits ?? null;
    } catch {
      await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** attempt)));
    }
  }
  return null;
}
