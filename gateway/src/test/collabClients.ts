/**
 * Node-side room clients for tests: a Hocuspocus provider over `ws` (Node 20
 * has no global WebSocket) with what it was told recorded, and small waits.
 * @module
 */
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import { WebSocket } from 'ws';
import * as Y from 'yjs';
import { COLLAB_PATH, COLLAB_PROTOCOL_VERSION } from '@codecell/protocol';

/** One client in a room. */
export interface RoomClient extends Disposable {
  readonly provider: HocuspocusProvider;
  readonly doc: Y.Doc;
  /** Reasons of `authenticationFailed` (the room was refused). */
  readonly refusals: string[];
  /** Reasons of `close` events (the server dropped the document connection). */
  readonly closes: string[];
  /** Resolves once the first sync is done. */
  synced(timeoutMs?: number): Promise<void>;
  /** Resolves once the server acknowledged every change sent so far (`unsyncedChanges === 0`). */
  acknowledged(timeoutMs?: number): Promise<void>;
  destroy(): void;
}

/** `ws://…/collab?protocolVersion=N` of a gateway at `baseUrl`. */
export function collabUrl(baseUrl: string, protocolVersion: number | null = COLLAB_PROTOCOL_VERSION): string {
  const url = `${baseUrl.replace(/^http/, 'ws')}${COLLAB_PATH}`;
  return protocolVersion === null ? url : `${url}?protocolVersion=${protocolVersion}`;
}

/** Joins `roomId` on the gateway at `baseUrl` with a fresh document (`headers`: a session cookie or bearer token). */
export function joinRoom(baseUrl: string, roomId: string, o: { protocolVersion?: number | null; headers?: Record<string, string> } = {}): RoomClient {
  const doc = new Y.Doc();
  const refusals: string[] = [];
  const closes: string[] = [];
  const socket = new HocuspocusProviderWebsocket({
    url: collabUrl(baseUrl, o.protocolVersion === undefined ? COLLAB_PROTOCOL_VERSION : o.protocolVersion),
    WebSocketPolyfill: o.headers === undefined ? WebSocket : withHeaders(o.headers),
    // Tests restart servers: retry fast.
    delay: 50,
    minDelay: 50,
    maxDelay: 200,
  });
  const provider = new HocuspocusProvider({
    websocketProvider: socket,
    name: roomId,
    document: doc,
    onAuthenticationFailed: ({ reason }) => void refusals.push(reason),
    onClose: ({ event }) => void (event.reason ? closes.push(event.reason) : undefined),
  });
  // With a websocket provider of our own, the provider does not attach itself.
  provider.attach();
  const destroy = (): void => {
    provider.destroy();
    socket.destroy();
  };
  return {
    provider,
    doc,
    refusals,
    closes,
    synced: (timeoutMs) => waitUntil(() => provider.isSynced, { timeoutMs, what: `room ${roomId} to sync` }),
    acknowledged: (timeoutMs) =>
      waitUntil(() => provider.isSynced && provider.unsyncedChanges === 0, { timeoutMs, what: `room ${roomId} to acknowledge every change` }),
    destroy,
    [Symbol.dispose]: destroy,
  };
}

/** A `ws` WebSocket class that sends `headers` with its upgrade (browsers send their cookies by themselves). */
function withHeaders(headers: Record<string, string>): typeof WebSocket {
  return class extends WebSocket {
    constructor(url: string | URL | null, protocols?: string | string[]) {
      super(url ?? '', protocols, { headers });
    }
  } as typeof WebSocket;
}

/** Polls `pred` every 10 ms; rejects naming `what` after `timeoutMs` (default 5 s). */
export async function waitUntil(pred: () => boolean, o: { timeoutMs?: number | undefined; what?: string } = {}): Promise<void> {
  const deadline = Date.now() + (o.timeoutMs ?? 5_000);
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${o.what ?? 'a condition'}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
