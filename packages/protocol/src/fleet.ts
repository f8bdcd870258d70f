/**
 * What gateways and sandbox hosts exchange through Redis in fleet mode
 * (`REDIS_URL`): the key layout, the BullMQ job of a run, a host's
 * registration, the entries of a run's event log (a Redis Stream) and of its
 * control stream (stdin, kill, resize). Pure data: both sides parse what they
 * read with these schemas.
 * @module
 */
import { z } from 'zod';
import { runRequestSchema } from './sandboxApi.js';
import { openTerminalSchema } from './streamSocket.js';
import { terminalRequestSchema } from './terminalRequest.js';

/** Bumped when the layout below changes incompatibly; hosts and gateways of another version ignore each other. */
export const FLEET_PROTOCOL_VERSION = 3;

/** Default key prefix (REDIS_PREFIX). */
export const DEFAULT_REDIS_PREFIX = 'codecell';

/** How often a host refreshes its registration, ms. */
export const HOST_HEARTBEAT_MS = 1_000;
/** A host whose registration was not refreshed for this long is dead, ms. */
export const HOST_TTL_MS = 5_000;
/** How often a gateway refreshes its entry in the `gateways` hash, ms. */
export const GATEWAY_HEARTBEAT_MS = 5_000;
/** A gateway entry older than this is left out of health reports (and swept), ms. */
export const GATEWAY_TTL_MS = 15_000;

/**
 * How long the facts of a run that has not ended are kept, ms: its host
 * refreshes them while it runs (a shell may stay open for days); a run whose
 * gateway and host both died goes after this.
 */
export const UNFINISHED_RUN_TTL_MS = 24 * 3_600_000;

/** Every Redis key of a fleet, under one prefix. */
export function fleetKeys(prefix: string) {
  return {
    /** BullMQ's own prefix. */
    bullPrefix: `${prefix}:bull`,
    /** HASH {@link HostRecord}, expiring HOST_TTL_MS after the last heartbeat. */
    host: (hostId: string) => `${prefix}:host:${hostId}`,
    /** SET of host ids that registered (dead ones are swept out). */
    hosts: `${prefix}:hosts`,
    /** Name of the BullMQ queue a host takes its runs from. */
    hostQueue: (hostId: string) => `host-${hostId}`,
    /** Name of the BullMQ queue a host takes its terminal sessions from (they hold no run slot). */
    hostTerminalQueue: (hostId: string) => `host-${hostId}-terminals`,
    /** STRING: the host holding a room's session VM (expires with the session). */
    session: (roomId: string) => `${prefix}:session:${roomId}`,
    /** HASH: a run's facts and state (see {@link RUN_META}). */
    runMeta: (jobId: string) => `${prefix}:run:${jobId}`,
    /** STREAM of {@link LogEntry}: the run's messages, the replay. */
    runLog: (jobId: string) => `${prefix}:run:${jobId}:log`,
    /** HASH event seq → the run's `file` event with its content (the log holds it emptied), until the following gateway takes it. */
    runFiles: (jobId: string) => `${prefix}:run:${jobId}:files`,
    /** STREAM of {@link ControlEntry}: stdin, kill and resize for the run's host. */
    runControl: (jobId: string) => `${prefix}:run:${jobId}:ctl`,
    /** SET of stdin chunk ids queued already (a resent command is not queued twice). */
    runStdinIds: (jobId: string) => `${prefix}:run:${jobId}:stdin-ids`,
    /** HASH program → JSON OpenTerminal: the room's terminal session of each program, shared by every gateway (an entry whose run finished is stale). */
    roomTerminals: (roomId: string) => `${prefix}:room-terminals:${roomId}`,
    /** STREAM: an entry each time a gateway opened a terminal session of the room (its watchers list the room again). */
    roomTerminalChanges: (roomId: string) => `${prefix}:room-terminals:${roomId}:changes`,
    /** SET: unfinished runs of a room. */
    roomRuns: (roomId: string) => `${prefix}:room-runs:${roomId}`,
    /** STRING lock held while a gateway moves a dead host's runs. */
    sweepLock: (hostId: string) => `${prefix}:sweep:${hostId}`,
    /** ZSET token → expiry (epoch ms): runs queued or running of one quota key (QUOTA_CONCURRENT_RUNS across gateways). */
    activeRuns: (quotaKey: string) => `${prefix}:active-runs:${quotaKey}`,
    /** HASH gatewayId → JSON {@link GatewayRecord}, for health and metrics. */
    gateways: `${prefix}:gateways`,
    /** SET of the runs a gateway submitted and follows to their end (room records, files, CPU charge); another adopts them when it is gone. */
    followed: (gatewayId: string) => `${prefix}:followed:${gatewayId}`,
    /** SET of the gateway ids that may have a `followed` set (what adopters look through). */
    followers: `${prefix}:followers`,
    /** STRING lock held while a gateway adopts a gone gateway's runs. */
    adoptLock: (gatewayId: string) => `${prefix}:adopt:${gatewayId}`,
  };
}

/** The keys of one fleet. */
export type FleetKeys = ReturnType<typeof fleetKeys>;

/** Fields of a run's meta HASH. */
export const RUN_META = {
  state: 'state',
  sessionId: 'sessionId',
  startedBy: 'startedBy',
  owner: 'owner',
  submittedAt: 'submittedAt',
  hostId: 'hostId',
  /** The host that took the run (set when it moves to `starting`). */
  takenBy: 'takenBy',
  seq: 'seq',
  /** The last event batch appended (numbered by the writer). */
  batch: 'batch',
  queuedId: 'queuedId',
  /** The position the latest `queued` entry says. */
  queuedPos: 'queuedPos',
  truncated: 'truncated',
  stdinClosed: 'stdinClosed',
  stdinPending: 'stdinPending',
  /** `1` for a TTY run (resize reaches it; others refuse with not_a_terminal). */
  tty: 'tty',
  /** `1` for a terminal session (a room's shell or REPL): not a run of the room, in its host's terminal queue. */
  terminal: 'terminal',
  end: 'end',
  finishedAt: 'finishedAt',
  cpuMs: 'cpuMs',
  wallMs: 'wallMs',
} as const;

/** A run's state as its meta says. */
export const fleetRunStateSchema = z.enum(['queued', 'starting', 'running', 'finished']);

/** The BullMQ job of a run (its job id is the gateway's jobId). */
export const fleetJobSchema = z.strictObject({
  v: z.literal(FLEET_PROTOCOL_VERSION),
  request: runRequestSchema,
  /** Output bytes the log keeps for replay (STREAM_REPLAY_BYTES of the submitting gateway). */
  replayBytes: z.int().positive(),
  /** How long the log stays after the run ends, ms (RUN_RETENTION_MS). */
  retentionMs: z.int().positive(),
});
export type FleetJob = z.infer<typeof fleetJobSchema>;

/** The BullMQ job of a terminal session, in its host's terminal queue (its job id is the gateway's jobId). */
export const fleetTerminalJobSchema = z.strictObject({
  v: z.literal(FLEET_PROTOCOL_VERSION),
  terminal: terminalRequestSchema,
  replayBytes: z.int().positive(),
  retentionMs: z.int().positive(),
});
export type FleetTerminalJob = z.infer<typeof fleetTerminalJobSchema>;

/** One entry of a room's `roomTerminals` hash. */
export const roomTerminalEntrySchema = openTerminalSchema;

const intString = z.coerce.number().int().nonnegative();

/** A sandbox host's registration (HGETALL of its `host` key). */
export const hostRecordSchema = z.object({
  hostId: z.string().min(1),
  v: z.coerce.number().pipe(z.literal(FLEET_PROTOCOL_VERSION)),
  /** MAX_CONCURRENT_RUNS: runs it executes at once. */
  capacity: intString,
  /** Runs it is executing or starting. */
  active: intString,
  /** Session VMs it holds. */
  sessions: intString,
  /** Idle warm VMs. */
  idleVms: intString,
  /** VMs booting or restoring. */
  startingVms: intString,
  guestMemoryMb: intString,
  maxGuestMemoryMb: intString,
  /** `1` while it drains (SIGTERM): it takes no new runs. */
  draining: z.enum(['0', '1']).transform((s) => s === '1'),
  ready: z.enum(['0', '1']).transform((s) => s === '1'),
  startedAt: intString,
  heartbeatAt: intString,
  /** JSON `{<runtime id>: <version>}` of its guest image (GET /runtimes), for the gateways' runtime list. */
  runtimes: z.string().optional(),
});
export type HostRecord = z.infer<typeof hostRecordSchema>;

/** A gateway's self-report in the `gateways` hash (health of the fleet); stale after {@link GATEWAY_TTL_MS}. */
export const gatewayRecordSchema = z.strictObject({
  gatewayId: z.string(),
  url: z.string(),
  store: z.enum(['sqlite', 'postgres']),
  heartbeatAt: z.int(),
  /** Open collab and stream sockets. */
  collabConnections: z.int().nonnegative(),
  streamSockets: z.int().nonnegative(),
});
export type GatewayRecord = z.infer<typeof gatewayRecordSchema>;

/** One entry of a run's log stream: field `k` says which message, `j` is its JSON, `s` an event's seq. */
export const logEntryKinds = ['queued', 'event', 'end'] as const;

/** One entry of a run's control stream (field `j`, JSON). */
export const controlEntrySchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('stdin'), data: z.string(), eof: z.boolean() }),
  z.strictObject({ op: z.literal('kill') }),
  z.strictObject({ op: z.literal('resize'), cols: z.int().min(1).max(1000), rows: z.int().min(1).max(1000) }),
]);
export type ControlEntry = z.infer<typeof controlEntrySchema>;
