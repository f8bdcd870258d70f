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

/** Bumped when the layout below changes incompatibly; hosts and gateways of another version ignore each other. */
export const FLEET_PROTOCOL_VERSION = 1;

/** Default key prefix (REDIS_PREFIX). */
export const DEFAULT_REDIS_PREFIX = 'codecell';

/** How often a host refreshes its registration, ms. */
export const HOST_HEARTBEAT_MS = 1_000;
/** A host whose registration was not refreshed for this long is dead, ms. */
export const HOST_TTL_MS = 5_000;

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
    /** STRING: the host holding a room's session VM (expires with the session). */
    session: (roomId: string) => `${prefix}:session:${roomId}`,
    /** HASH: a run's facts and state (see {@link RUN_META}). */
    runMeta: (jobId: string) => `${prefix}:run:${jobId}`,
    /** STREAM of {@link LogEntry}: the run's messages, the replay. */
    runLog: (jobId: string) => `${prefix}:run:${jobId}:log`,
    /** STREAM of {@link ControlEntry}: stdin, kill and resize for the run's host. */
    runControl: (jobId: string) => `${prefix}:run:${jobId}:ctl`,
    /** SET: unfinished runs of a room. */
    roomRuns: (roomId: string) => `${prefix}:room-runs:${roomId}`,
    /** STRING lock held while a gateway moves a dead host's runs. */
    sweepLock: (hostId: string) => `${prefix}:sweep:${hostId}`,
    /** STRING counter: runs queued or running of one quota key (QUOTA_CONCURRENT_RUNS across gateways). */
    activeRuns: (quotaKey: string) => `${prefix}:active-runs:${quotaKey}`,
    /** HASH gatewayId → JSON {@link GatewayRecord}, for health and metrics. */
    gateways: `${prefix}:gateways`,
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
  seq: 'seq',
  queuedId: 'queuedId',
  truncated: 'truncated',
  stdinClosed: 'stdinClosed',
  stdinPending: 'stdinPending',
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
});
export type HostRecord = z.infer<typeof hostRecordSchema>;

/** A gateway's self-report in the `gateways` hash (health of the fleet). */
export const gatewayRecordSchema = z.strictObject({
  gatewayId: z.string(),
  url: z.string(),
  store: z.enum(['sqlite', 'postgres']),
  heartbeatAt: z.int(),
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

/**
 * Lua run by both sides so that a run's log has one order and one end:
 * nothing is appended after `end`, `seq` is counted in Redis, and only the
 * latest `queued` is kept.
 */
export const FLEET_SCRIPTS = {
  /** KEYS: meta, log. ARGV: queued JSON. Returns the entry id, or false once the run ended. */
  appendQueued: `
if redis.call('HGET', KEYS[1], 'state') == 'finished' then return false end
local old = redis.call('HGET', KEYS[1], 'queuedId')
if old then redis.call('XDEL', KEYS[2], old) end
local id = redis.call('XADD', KEYS[2], '*', 'k', 'queued', 'j', ARGV[1])
redis.call('HSET', KEYS[1], 'queuedId', id)
return id`,
  /** KEYS: meta, log. ARGV: event JSONs. Returns their entry ids, or false once the run ended. */
  appendEvents: `
if redis.call('HGET', KEYS[1], 'state') == 'finished' then return false end
local ids = {}
for i = 1, #ARGV do
  local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1) - 1
  ids[i] = redis.call('XADD', KEYS[2], '*', 'k', 'event', 's', seq, 'j', ARGV[i])
end
return ids`,
  /**
   * KEYS: meta, log, control, roomRuns (or the meta key again without a room).
   * ARGV: end JSON, finishedAt, retentionMs, cpuMs, wallMs, error event JSON or '', jobId.
   * Appends the error event (if any) and `end`, marks the run finished and lets its keys expire.
   * Returns 1, or 0 when it had ended already.
   */
  finish: `
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HGET', KEYS[1], 'state') == 'finished' then return 0 end
if ARGV[6] ~= '' then
  local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1) - 1
  redis.call('XADD', KEYS[2], '*', 'k', 'event', 's', seq, 'j', ARGV[6])
end
redis.call('XADD', KEYS[2], '*', 'k', 'end', 'j', ARGV[1])
redis.call('HSET', KEYS[1], 'state', 'finished', 'end', ARGV[1], 'finishedAt', ARGV[2], 'cpuMs', ARGV[4], 'wallMs', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('DEL', KEYS[3])
if KEYS[4] ~= KEYS[1] then redis.call('SREM', KEYS[4], ARGV[7]) end
return 1`,
  /** KEYS: meta. ARGV: from-state list joined by ',', to-state. Sets `state` when it is one of the from-states; returns 1 if set. */
  moveState: `
local s = redis.call('HGET', KEYS[1], 'state')
if not s then return 0 end
for st in string.gmatch(ARGV[1], '[^,]+') do
  if st == s then redis.call('HSET', KEYS[1], 'state', ARGV[2]) return 1 end
end
return 0`,
} as const;
