/**
 * The room connection as the header shows it: connected, connecting or
 * offline, and whether the gateway still has to acknowledge local changes.
 * @module
 */

/** The socket's state as the Hocuspocus provider reports it. */
export type SocketStatus = 'connecting' | 'connected' | 'disconnected';

/** What the badge needs to know. */
export interface ConnectionFacts {
  readonly socket: SocketStatus;
  /** The provider finished its sync handshake on the current connection. */
  readonly synced: boolean;
  /** `navigator.onLine`. */
  readonly online: boolean;
  /** Local updates the gateway has not acknowledged (provider `unsyncedChanges`). */
  readonly unsynced: number;
}

export type ConnectionKind = 'connected' | 'connecting' | 'offline';

export interface ConnectionView {
  readonly kind: ConnectionKind;
  readonly label: string;
  /** Tooltip. */
  readonly detail: string;
  /** Show "Unsynced changes". */
  readonly unsynced: boolean;
}

/**
 * @example connectionView({ socket: 'connected', synced: true, online: true, unsynced: 0 }).label // 'Connected'
 */
export function connectionView(f: ConnectionFacts): ConnectionView {
  const unsynced = f.unsynced > 0;
  if (!f.online || f.socket === 'disconnected') {
    return {
      kind: 'offline',
      label: 'Offline',
      detail: unsynced
        ? 'Not connected to the room. Your edits are kept in this tab and merge when the connection is back.'
        : 'Not connected to the room; reconnecting.',
      unsynced,
    };
  }
  if (f.socket === 'connecting' || !f.synced) {
    return { kind: 'connecting', label: 'Connecting…', detail: 'Joining the room.', unsynced };
  }
  return {
    kind: 'connected',
    label: 'Connected',
    detail: unsynced ? 'Connected; the gateway has not yet saved every change.' : 'Connected; every change is saved.',
    unsynced,
  };
}
