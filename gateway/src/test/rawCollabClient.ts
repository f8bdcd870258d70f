/**
 * A hostile collab client for tests: speaks the Hocuspocus wire protocol by
 * hand over `ws` with lib0's encoding, so it can send what no provider would
 * (updates with missing dependencies, writes to `runs`, thousands of
 * awareness states, other clients' states). Format, per message:
 * `varString(documentName) varUint(type) ...`; Sync 0 (step1 0, step2 1,
 * update 2), Awareness 1, Auth 2 (Token 0 `varString(token) varString(version)`),
 * CLOSE 7 `varString(reason)`, SyncStatus 8 `varUint(saved)`.
 * @module
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { WebSocket } from 'ws';
import { collabUrl } from './collabClients.js';

const MESSAGE = { sync: 0, awareness: 1, auth: 2, close: 7, syncStatus: 8 } as const;
const SYNC = { step1: 0, step2: 1, update: 2 } as const;
const AUTHENTICATED = 2;

/** What the server answered one sent update. */
export type UpdateOutcome = { readonly accepted: true } | { readonly accepted: false; readonly reason: string };

/** One authenticated document connection of a raw client. */
export interface RawCollabClient extends Disposable {
  readonly ws: WebSocket;
  /** Sends a Yjs update (`update` or sync `step2`) and waits for the server's SyncStatus or CLOSE. */
  sendUpdate(update: Uint8Array, o?: { kind?: 'update' | 'step2'; timeoutMs?: number }): Promise<UpdateOutcome>;
  /** Sends an encoded awareness update (y-protocols `encodeAwarenessUpdate` format). */
  sendAwareness(update: Uint8Array): void;
  close(): void;
}

function message(roomId: string, write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, roomId);
  write(e);
  return encoding.toUint8Array(e);
}

/** Encodes awareness states as y-protocols does: `varUint(n)` then `clientID, clock, JSON` each. */
export function encodeAwarenessStates(states: ReadonlyArray<{ clientId: number; clock: number; state: unknown }>): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, states.length);
  for (const s of states) {
    encoding.writeVarUint(e, s.clientId);
    encoding.writeVarUint(e, s.clock);
    encoding.writeVarString(e, JSON.stringify(s.state));
  }
  return encoding.toUint8Array(e);
}

/** Connects to `roomId` on the gateway at `baseUrl` and resolves once the server says the connection is authenticated. */
export function connectRawCollab(baseUrl: string, roomId: string, timeoutMs = 5_000): Promise<RawCollabClient> {
  const ws = new WebSocket(collabUrl(baseUrl));
  ws.binaryType = 'nodebuffer';
  const listeners = new Set<(type: number, d: decoding.Decoder) => void>();
  ws.on('message', (data: Buffer) => {
    const d = decoding.createDecoder(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    decoding.readVarString(d);
    const type = decoding.readVarUint(d);
    for (const l of [...listeners]) l(type, d);
  });
  ws.on('error', () => undefined);
  const client: RawCollabClient = {
    ws,
    sendUpdate: (update, o = {}) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(() => reject(new Error('no SyncStatus or CLOSE for the update in time'))), o.timeoutMs ?? 10_000);
        const listener = (type: number, d: decoding.Decoder): void => {
          if (type === MESSAGE.syncStatus) done(() => resolve({ accepted: true }));
          if (type === MESSAGE.close) {
            const reason = decoding.readVarString(d);
            done(() => resolve({ accepted: false, reason }));
          }
        };
        const done = (f: () => void): void => {
          clearTimeout(timer);
          listeners.delete(listener);
          f();
        };
        listeners.add(listener);
        ws.send(
          message(roomId, (e) => {
            encoding.writeVarUint(e, MESSAGE.sync);
            encoding.writeVarUint(e, o.kind === 'step2' ? SYNC.step2 : SYNC.update);
            encoding.writeVarUint8Array(e, update);
          }),
        );
      }),
    sendAwareness: (update) =>
      ws.send(
        message(roomId, (e) => {
          encoding.writeVarUint(e, MESSAGE.awareness);
          encoding.writeVarUint8Array(e, update);
        }),
      ),
    close: () => ws.terminate(),
    [Symbol.dispose]: () => ws.terminate(),
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`raw collab client: not authenticated for ${roomId} in time`)), timeoutMs);
    const listener = (type: number, d: decoding.Decoder): void => {
      if (type !== MESSAGE.auth || decoding.readVarUint(d) !== AUTHENTICATED) return;
      clearTimeout(timer);
      listeners.delete(listener);
      resolve(client);
    };
    listeners.add(listener);
    ws.once('open', () =>
      ws.send(
        message(roomId, (e) => {
          encoding.writeVarUint(e, MESSAGE.auth);
          encoding.writeVarUint(e, 0); // Token
          encoding.writeVarString(e, '');
          encoding.writeVarString(e, 'raw-test-client');
        }),
      ),
    );
    ws.once('close', () => reject(new Error(`raw collab client: the socket closed before ${roomId} was authenticated`)));
  });
}
