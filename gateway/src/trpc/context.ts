/**
 * What every tRPC procedure may use. Procedures depend on these small interfaces,
 * not on the classes behind them, so the router can be tested with fakes.
 * @module
 */
import type {
  CreateRoomInput,
  CreateRoomOutput,
  GetRoomInput,
  GetRoomOutput,
  Health,
  RunCodeOutput,
  Runtime,
  SendStdinInput,
  StopRunInput,
} from '@codecell/protocol';
import type { ParsedRunCodeInput } from '../runs/types.js';

/** Output of the `health` query (and of `GET /healthz`). */
export interface GatewayHealth {
  /** True when the sandbox answered and reports itself ok. */
  readonly ok: boolean;
  /** The sandbox's own `GET /healthz` body, or null when it did not answer. */
  readonly sandbox: Health | null;
  /** Why `ok` is false (or null when it is true). */
  readonly message: string | null;
}

/** The run operations procedures call (implemented by `RunManager`). */
export interface RunOperations {
  submit(input: ParsedRunCodeInput): RunCodeOutput;
  sendStdin(input: SendStdinInput, signal?: AbortSignal): Promise<void>;
  stop(input: StopRunInput, signal?: AbortSignal): Promise<void>;
}

/** The room operations procedures call (implemented by `CollabService`). */
export interface RoomOperations {
  createRoom(input: CreateRoomInput): Promise<CreateRoomOutput>;
  getRoom(input: GetRoomInput): GetRoomOutput;
}

/** The tRPC context of one request. */
export interface GatewayContext {
  readonly runs: RunOperations;
  readonly rooms: RoomOperations;
  /** Asks the sandbox how it is; never throws. */
  readonly health: (signal?: AbortSignal) => Promise<GatewayHealth>;
  /** The languages the sandbox runs. */
  readonly runtimes: (signal?: AbortSignal) => Promise<Runtime[]>;
}
