/**
 * One room, joined: the Yjs document, its Hocuspocus provider on `ws /collab`
 * (document name = roomId) and the connection state the page shows. When the
 * gateway refuses one of our updates (C7) the document connection is closed;
 * the session then reopens the room with a fresh document (`generation` + 1),
 * so the page shows exactly what the server holds. Nothing here ever resets
 * the document otherwise: edits made offline merge when the socket is back.
 * @module
 */
import { HocuspocusProvider, HocuspocusProviderWebsocket, WebSocketStatus } from '@hocuspocus/provider';
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { CollabRejectReason, parseCollabReason } from '@codecell/protocol';
import type { SocketStatus } from './connection';
import type { UserIdentity } from './identity';

/** A message about the room for the page (refusals, lost connection). */
export interface RoomNotice {
  readonly code: string;
  readonly message: string;
}

/** Everything the page renders about the connection; a new object whenever something changed. */
export interface RoomSessionState {
  /** Bumped each time the room is reopened with a fresh document. */
  readonly generation: number;
  readonly socket: SocketStatus;
  /** The current connection finished its sync handshake. */
  readonly synced: boolean;
  /** The document got its first sync (the editor can show files). */
  readonly loaded: boolean;
  /** Local updates not yet acknowledged by the gateway. */
  readonly unsynced: number;
  /** `navigator.onLine`. */
  readonly online: boolean;
  /** Why the room was reopened (a refused update), until dismissed. */
  readonly notice: RoomNotice | null;
  /** Why the room cannot be joined at all (refused room, incompatible page). */
  readonly fatal: RoomNotice | null;
}

export interface RoomSessionOptions {
  readonly roomId: string;
  /** `ws(s)://host/collab?protocolVersion=N` (see `collabUrl`). */
  readonly url: string;
  readonly user: UserIdentity;
  /** Where `online` / `offline` events come from; default `window` when there is one. */
  readonly events?: Pick<Window, 'addEventListener' | 'removeEventListener'> | null;
  /** `navigator.onLine`, read at start. */
  readonly online?: boolean;
}

/** WebSocket close code for a message larger than the server accepts. */
const MESSAGE_TOO_BIG = 1009;

/** Refusal codes that mean this person's access to the room ended (link revoked, removed, room deleted): nothing to retry. */
const ACCESS_ENDED = new Set(['unauthorized', 'forbidden', 'link_invalid', 'not_found']);

/** Reconnect quickly after a gateway restart, backing off to 5 s. */
const RECONNECT = { delay: 300, minDelay: 300, maxDelay: 5_000, factor: 1.6, jitter: true } as const;

/** The socket, able to give up on a connection at once (the browser went offline). */
class RoomSocket extends HocuspocusProviderWebsocket {
  /**
   * Handles the current connection as closed now. A socket to a peer that is
   * no longer reachable can stay "open" for minutes (Chromium keeps it when it
   * goes offline); the retry loop then takes over.
   */
  dropConnection(): void {
    this.emit('close', { event: { code: 4000, reason: '' } });
  }
}

interface Connection {
  readonly doc: Y.Doc;
  readonly socket: RoomSocket;
  readonly provider: HocuspocusProvider;
}

export class RoomSession {
  readonly roomId: string;
  readonly #o: RoomSessionOptions;
  #user: UserIdentity;
  #conn: Connection;
  #state: RoomSessionState;
  readonly #listeners = new Set<() => void>();
  #disposed = false;

  constructor(options: RoomSessionOptions) {
    this.#o = options;
    this.roomId = options.roomId;
    this.#user = options.user;
    this.#state = {
      generation: 0,
      socket: 'connecting',
      synced: false,
      loaded: false,
      unsynced: 0,
      online: options.online ?? true,
      notice: null,
      fatal: null,
    };
    this.#conn = this.#open();
    const events = options.events === undefined ? (typeof window === 'undefined' ? null : window) : options.events;
    events?.addEventListener('offline', this.#onOffline);
    events?.addEventListener('online', this.#onOnline);
  }

  /** The room document of the current generation. */
  get doc(): Y.Doc {
    return this.#conn.doc;
  }

  get awareness(): Awareness {
    return this.#conn.provider.awareness!;
  }

  get user(): UserIdentity {
    return this.#user;
  }

  getState = (): RoomSessionState => this.#state;

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** Publishes a new name or colour to the room. */
  setUser(user: UserIdentity): void {
    this.#user = user;
    this.awareness.setLocalStateField('user', { name: user.name, color: user.color });
  }

  dismissNotice(): void {
    this.#set({ notice: null });
  }

  /** Leaves the room (others see you go at once). Safe to call twice. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const events = this.#o.events === undefined ? (typeof window === 'undefined' ? null : window) : this.#o.events;
    events?.removeEventListener('offline', this.#onOffline);
    events?.removeEventListener('online', this.#onOnline);
    this.#close(this.#conn);
    this.#listeners.clear();
  }

  #open(): Connection {
    const doc = new Y.Doc();
    const socket = new RoomSocket({ url: this.#o.url, ...RECONNECT });
    const provider = new HocuspocusProvider({
      websocketProvider: socket,
      name: this.#o.roomId,
      document: doc,
      onAuthenticationFailed: ({ reason }) => this.#onRefused(reason),
      onClose: ({ event }) => this.#onClosed(event),
    });
    // With a socket of our own the provider does not attach itself.
    provider.attach();
    provider.awareness!.setLocalStateField('user', { name: this.#user.name, color: this.#user.color });
    const refresh = (): void => this.#refresh();
    provider.on('status', refresh);
    provider.on('synced', () => {
      if (!this.#state.loaded) this.#set({ loaded: true });
      refresh();
    });
    provider.on('unsyncedChanges', refresh);
    provider.on('disconnect', refresh);
    provider.on('close', refresh);
    return { doc, socket, provider };
  }

  #close(conn: Connection): void {
    conn.provider.destroy();
    conn.socket.destroy();
    conn.doc.destroy();
  }

  #refresh(): void {
    const { provider, socket } = this.#conn;
    this.#set({ socket: socket.status, synced: provider.isSynced, unsynced: provider.unsyncedChanges });
  }

  /** The room itself was refused (authenticationFailed): nothing to retry. */
  #onRefused(reason: string): void {
    const parsed = parseCollabReason(reason);
    let fatal: RoomNotice;
    if (reason === CollabRejectReason.clientTooOld || reason === CollabRejectReason.clientTooNew) {
      fatal = { code: reason, message: 'This page and the gateway speak different collaboration protocols: reload the page.' };
    } else {
      fatal = parsed ?? { code: 'internal_error', message: reason || 'The gateway refused this room.' };
    }
    this.#set({ fatal });
  }

  /**
   * A document connection closed by the server with a reason (`"<code>: <message>"`)
   * means it refused one of our updates (C7): the update is not in the room, and
   * our document has it, so start over from what the server has. A socket closed
   * with 1009 (a message over the gateway's hard size limit) is the same refusal:
   * reconnecting would only send that update again.
   */
  #onClosed(event: { readonly code: number; readonly reason: string }): void {
    if (this.#disposed) return;
    // The owner changed this person's role: reconnect to get the new rights.
    if (event.reason === CollabRejectReason.roleChanged) return this.#reopen(null);
    const access = parseCollabReason(event.reason);
    if (access !== null && ACCESS_ENDED.has(access.code)) {
      this.#set({ fatal: access });
      return;
    }
    const parsed =
      parseCollabReason(event.reason) ??
      (event.code === MESSAGE_TOO_BIG ? { code: 'payload_too_large', message: 'the change is larger than the gateway accepts in one message' } : null);
    if (parsed === null) return;
    this.#reopen({
      code: parsed.code,
      message: `The gateway refused your last change (${parsed.message}). The room was reloaded as the server has it.`,
    });
  }

  /** Opens the room again with a fresh document (the server's), telling the page `notice`. */
  #reopen(notice: RoomNotice | null): void {
    const old = this.#conn;
    this.#conn = this.#open();
    this.#set({ generation: this.#state.generation + 1, loaded: false, synced: false, unsynced: 0, notice });
    // After the new connection exists, so the page never sees a destroyed document as current.
    queueMicrotask(() => this.#close(old));
  }

  #onOffline = (): void => {
    this.#set({ online: false });
    if (this.#conn.socket.status === WebSocketStatus.Connected) this.#conn.socket.dropConnection();
  };

  #onOnline = (): void => {
    this.#set({ online: true });
    // Skip the backoff: try now.
    this.#conn.socket.connect().catch(() => undefined);
  };

  #set(patch: Partial<RoomSessionState>): void {
    if (this.#disposed) return;
    const next = { ...this.#state, ...patch };
    const changed = (Object.keys(patch) as Array<keyof RoomSessionState>).some((k) => next[k] !== this.#state[k]);
    if (!changed) return;
    this.#state = next;
    for (const l of [...this.#listeners]) l();
  }
}
