/**
 * Awareness rules of a room, for RoomGuard: a connection may publish only its
 * own state (the first clientID it introduces that nobody else holds), at
 * most {@link MAX_AWARENESS_STATES_PER_MESSAGE} states a message, each matching
 * the protocol and under MAX_AWARENESS_STATE_BYTES. Anything else is dropped,
 * not applied and not relayed.
 *
 * Hocuspocus decodes an awareness message into a scratch Awareness whose own
 * (empty) local state rides along into the hook; the clientIDs the message
 * really carries are therefore read from the raw message first.
 * @module
 */
import * as decoding from 'lib0/decoding';
import type { Connection } from '@hocuspocus/server';
import { MAX_AWARENESS_STATE_BYTES, awarenessStateSchema } from '@codecell/protocol';
import type { Logger } from '@codecell/server-kit';

/** Most awareness states one message may carry (a provider sends only its own). */
export const MAX_AWARENESS_STATES_PER_MESSAGE = 4;
/** ClientIDs one document connection may publish a state for (a provider has one). */
export const MAX_AWARENESS_CLIENTS_PER_CONNECTION = 1;

/** Hocuspocus message type of an awareness update. */
const AWARENESS_MESSAGE = 1;

/** The clientIDs of the awareness message a connection is sending, or `flood` when over the per-message cap. */
type MessageClients = readonly number[] | 'flood';

export class AwarenessGuard {
  readonly #logger: Logger;
  /** ClientIDs each connection publishes. */
  readonly #owned = new WeakMap<Connection, Set<number>>();
  /** What the raw message being handled carries, per connection (set before the hook, taken by it). */
  readonly #incoming = new WeakMap<Connection, MessageClients>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Reads which clientIDs a raw Hocuspocus awareness message carries (before Hocuspocus decodes it). */
  noteMessage(connection: Connection, message: Uint8Array): void {
    try {
      const d = decoding.createDecoder(message);
      decoding.readVarString(d);
      if (decoding.readVarUint(d) !== AWARENESS_MESSAGE) return;
      const update = decoding.createDecoder(decoding.readVarUint8Array(d));
      const count = decoding.readVarUint(update);
      if (count > MAX_AWARENESS_STATES_PER_MESSAGE) return void this.#incoming.set(connection, 'flood');
      const ids: number[] = [];
      for (let i = 0; i < count; i++) {
        ids.push(decoding.readVarUint(update));
        decoding.readVarUint(update); // clock
        decoding.readVarString(update); // state
      }
      this.#incoming.set(connection, ids);
    } catch {
      this.#incoming.set(connection, []); // malformed: Hocuspocus fails on it too; apply nothing
    }
  }

  /**
   * Drops from `states` (in place) everything this connection may not publish.
   * @param others clientIDs with a state in the room now
   */
  filter(o: { connection: Connection; states: Map<number, Record<string, unknown>>; others: ReadonlySet<number>; roomId: string }): void {
    const { connection, states, roomId } = o;
    const carried = this.#incoming.get(connection) ?? [];
    this.#incoming.delete(connection);
    if (carried === 'flood') {
      this.#logger.warn('dropped an awareness message with too many states', { roomId, states: states.size, max: MAX_AWARENESS_STATES_PER_MESSAGE });
      states.clear();
      return;
    }
    const owned = this.#owned.get(connection) ?? new Set<number>();
    this.#owned.set(connection, owned);
    for (const [clientId, state] of states) {
      const problem = this.#problem({ clientId, state, carried, owned, others: o.others });
      if (problem === undefined) {
        owned.add(clientId);
        continue;
      }
      states.delete(clientId);
      this.#logger.debug('dropped an awareness state', { roomId, clientId, problem });
    }
  }

  #problem(o: { clientId: number; state: unknown; carried: readonly number[]; owned: Set<number>; others: ReadonlySet<number> }): string | undefined {
    const { clientId } = o;
    if (!o.carried.includes(clientId)) return 'not in the message (Hocuspocus scratch state)';
    if (!o.owned.has(clientId)) {
      if (o.others.has(clientId)) return "another participant's clientID";
      if (o.owned.size >= MAX_AWARENESS_CLIENTS_PER_CONNECTION) return `this connection already publishes ${[...o.owned].join(', ')}`;
    }
    const bytes = Buffer.byteLength(JSON.stringify(o.state));
    if (bytes > MAX_AWARENESS_STATE_BYTES) return `${bytes} bytes; the limit is ${MAX_AWARENESS_STATE_BYTES}`;
    return awarenessStateSchema.safeParse(o.state).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  }
}
