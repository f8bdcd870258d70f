/**
 * What every tRPC procedure may use. Procedures depend on these small
 * interfaces, not on the classes behind them, so the router can be tested with
 * fakes. Every operation takes the {@link Caller}: the server decides what
 * they may do.
 * @module
 */
import type { FleetPeers } from '../fleet/GatewayFleet.js';
import type { DatabaseHealth } from '../storage.js';
import type {
  ApiTokenInfo,
  CreateLinkInput,
  CreateRoomInput,
  CreateRoomOutput,
  CreateTokenOutput,
  GetRoomOutput,
  Health,
  InviteOutput,
  LinkInfo,
  MeOutput,
  Member,
  QuotaUsage,
  RoomRole,
  RoomSummary,
  RunCodeOutput,
  Runtime,
  SendStdinInput,
  ShareLink,
  ShareableRole,
  StopRunInput,
} from '@codecell/protocol';
import type { Caller } from '../auth/Caller.js';
import type { ParsedRunCodeInput } from '../runs/types.js';

/** Output of the `health` query (and of `GET /healthz`). */
export interface GatewayHealth {
  /** True when a run submitted now can start: the database answers and a sandbox (fleet: an open host) is ready. */
  readonly ok: boolean;
  /** The sandbox's own `GET /healthz` body, or null when it did not answer (and in fleet mode). */
  readonly sandbox: Health | null;
  /** Why `ok` is false (or null when it is true). */
  readonly message: string | null;
  /** GATEWAY_ID */
  readonly gatewayId: string;
  /** SQLite or PostgreSQL, and whether it answers. */
  readonly database: DatabaseHealth;
  /** Fleet mode: Redis, the live sandbox hosts with their free capacity, the gateways. Null in the embedded default. */
  readonly fleet: FleetPeers | null;
}

/** The run operations procedures call (implemented by `RunService`). */
export interface RunOperations {
  submit(caller: Caller, input: ParsedRunCodeInput): Promise<RunCodeOutput>;
  sendStdin(caller: Caller, input: SendStdinInput, signal?: AbortSignal): Promise<void>;
  stop(caller: Caller, input: StopRunInput, signal?: AbortSignal): Promise<void>;
}

/** The room operations procedures call (implemented by `RoomService`). */
export interface RoomOperations {
  createRoom(caller: Caller, input: CreateRoomInput): Promise<CreateRoomOutput>;
  getRoom(caller: Caller, roomId: string): Promise<GetRoomOutput>;
  mine(caller: Caller): Promise<RoomSummary[]>;
  deleteRoom(caller: Caller, roomId: string): Promise<void>;
}

/** Sharing (implemented by `SharingService`). */
export interface SharingOperations {
  createLink(caller: Caller, input: CreateLinkInput): Promise<ShareLink>;
  listLinks(caller: Caller, roomId: string): Promise<ShareLink[]>;
  revokeLink(caller: Caller, o: { roomId: string; linkId: string }): Promise<void>;
  linkInfo(token: string): Promise<LinkInfo>;
  redeemLink(caller: Caller, o: { token: string; displayName?: string | undefined }): Promise<{ roomId: string; role: RoomRole; setCookie: string | null }>;
  members(caller: Caller, roomId: string): Promise<Member[]>;
  setRole(caller: Caller, o: { roomId: string; userId: string; role: ShareableRole }): Promise<void>;
  removeMember(caller: Caller, o: { roomId: string; userId: string }): Promise<void>;
}

/** A signed-in account (id and `Set-Cookie` of its new session). */
export interface SignedIn {
  readonly me: MeOutput;
  readonly setCookie: string;
}

/** Accounts and sessions (implemented by `AuthService` + `Accounts`, see `authOperations.ts`). */
export interface AuthOperations {
  me(caller: Caller): Promise<MeOutput>;
  setup(caller: Caller, o: { token: string; username: string; password: string; displayName?: string | undefined }): Promise<SignedIn>;
  signUp(caller: Caller, o: { username: string; password: string; displayName?: string | undefined; invite?: string | undefined }): Promise<SignedIn>;
  signIn(caller: Caller, o: { username: string; password: string }): Promise<SignedIn>;
  /** Ends the session; returns the `Set-Cookie` that deletes the cookie. */
  signOut(caller: Caller): Promise<string>;
  createToken(caller: Caller, o: { name: string; expiresInDays?: number | undefined }): Promise<CreateTokenOutput>;
  listTokens(caller: Caller): Promise<ApiTokenInfo[]>;
  revokeToken(caller: Caller, id: string): Promise<void>;
  createInvite(caller: Caller, o: { expiresInHours?: number | undefined }): Promise<InviteOutput>;
}

/** The tRPC context of one request. */
export interface GatewayContext {
  readonly caller: Caller;
  readonly runs: RunOperations;
  readonly rooms: RoomOperations;
  readonly sharing: SharingOperations;
  readonly auth: AuthOperations;
  readonly quotas: { usage(caller: Caller): Promise<QuotaUsage> };
  /** Adds a `Set-Cookie` header to the response. */
  readonly setCookie: (value: string) => void;
  /** Asks the sandbox how it is; never throws. */
  readonly health: (signal?: AbortSignal) => Promise<GatewayHealth>;
  /** The runtime table, with which runtimes the sandbox has and their versions (never fails). */
  readonly runtimes: (signal?: AbortSignal) => Promise<Runtime[]>;
}
