/**
 * The Lua scripts gateways and sandbox hosts run on Redis (fleet mode), so
 * that every change of a run is atomic wherever it comes from.
 * @module
 */

/**
 * Lua: `entryOpen(json, at)` says whether a room's terminal entry (its JSON)
 * names a session that is still open: its run taken by a host that is still
 * in the fleet, or still `queued` and claimed less than a while ago (hosts take
 * sessions at once, so an older one was lost). A host is in the fleet while
 * it is registered or still in the `hosts` set: a registration also lapses
 * while Redis is away (restarted for longer than HOST_TTL_MS) though its host
 * lives, and until the host is back it looks like a dead one; a dead host
 * leaves the set only once a gateway's sweep ended its sessions. It reads five
 * arguments from ARGV[at] on: the prefix of run meta keys (`<prefix>:run:`),
 * the prefix of host keys (`<prefix>:host:`), now (epoch ms), how long a
 * queued session counts as open (ms), and the `hosts` set's key. Those keys
 * are read by name: one Redis, not a cluster.
 */
const TERMINAL_OPEN = `
local function entryOpen(json, at)
  local ok, e = pcall(cjson.decode, json)
  if not ok or type(e) ~= 'table' or type(e.jobId) ~= 'string' then return false end
  local m = redis.call('HMGET', ARGV[at] .. e.jobId, 'state', 'hostId', 'submittedAt')
  if m[1] == 'queued' then return tonumber(ARGV[at + 2]) - (tonumber(m[3]) or 0) < tonumber(ARGV[at + 3]) end
  if not m[1] or m[1] == 'finished' or not m[2] then return false end
  return redis.call('EXISTS', ARGV[at + 1] .. m[2]) == 1 or redis.call('SISMEMBER', ARGV[at + 4], m[2]) == 1
end`;

/**
 * Scripts run by both sides, so that a run's log has one order and one end
 * (nothing is appended after `end`, `seq` is counted in Redis, only the
 * latest `queued` is kept), stdin is checked and queued in one step, and
 * concurrent-run quotas count every gateway's runs.
 *
 * Every script may run twice: a client resends a command whose reply was
 * lost when Redis went away (restart, failover), and Redis may have run it.
 * So each one is idempotent: taking a run names the host, event batches are
 * numbered, stdin chunks carry an id.
 */
export const FLEET_SCRIPTS = {
  /**
   * KEYS: meta, log. ARGV: queued JSON, position. Replaces the run's `queued` entry; the same
   * position again appends nothing. Returns the entry id, or false once the run ended.
   */
  appendQueued: `
if redis.call('HGET', KEYS[1], 'state') == 'finished' then return false end
local old = redis.call('HGET', KEYS[1], 'queuedId')
if old and redis.call('HGET', KEYS[1], 'queuedPos') == ARGV[2] then return old end
if old then redis.call('XDEL', KEYS[2], old) end
local id = redis.call('XADD', KEYS[2], '*', 'k', 'queued', 'j', ARGV[1])
redis.call('HSET', KEYS[1], 'queuedId', id, 'queuedPos', ARGV[2])
return id`,
  /**
   * KEYS: meta, log, files. ARGV: batch number (1, 2, … per run), n, then n
   * event JSONs as the log keeps them, then n file event JSONs with their
   * content ('' for other events), kept by seq in the files hash (as long as
   * the meta lives) for the gateway that follows the run.
   * Returns their entry ids; 'dup' for a batch appended already; false once the run ended.
   */
  appendEvents: `
if redis.call('HGET', KEYS[1], 'state') == 'finished' then return false end
if tonumber(ARGV[1]) <= tonumber(redis.call('HGET', KEYS[1], 'batch') or '0') then return 'dup' end
redis.call('HSET', KEYS[1], 'batch', ARGV[1])
local n = tonumber(ARGV[2])
local ids = {}
local files = false
for i = 1, n do
  local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1) - 1
  ids[i] = redis.call('XADD', KEYS[2], '*', 'k', 'event', 's', seq, 'j', ARGV[2 + i])
  if ARGV[2 + n + i] ~= '' then
    redis.call('HSET', KEYS[3], seq, ARGV[2 + n + i])
    files = true
  end
end
if files then redis.call('PEXPIRE', KEYS[3], math.max(1000, redis.call('PTTL', KEYS[1]))) end
return ids`,
  /**
   * KEYS: meta, log, control, roomRuns (or the meta key again without a room), files.
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
redis.call('PEXPIRE', KEYS[5], ARGV[3])
redis.call('DEL', KEYS[3])
if KEYS[4] ~= KEYS[1] then redis.call('SREM', KEYS[4], ARGV[7]) end
return 1`,
  /**
   * KEYS: meta. ARGV: from-state, to-state, host id. Moves the run on when it
   * is in from-state (recording the host), or already in to-state for this
   * host (the same call again). Returns 1 if the run is now in to-state for this host.
   */
  moveState: `
local s = redis.call('HGET', KEYS[1], 'state')
if not s then return 0 end
if s == ARGV[2] and redis.call('HGET', KEYS[1], 'takenBy') == ARGV[3] then return 1 end
if s ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'takenBy', ARGV[3])
return 1`,
  /**
   * KEYS: meta, control, seen chunk ids. ARGV: control entry JSON, bytes, eof ('1' | '0'), most pending bytes, control TTL ms, chunk id.
   * Queues stdin for the run's host. Returns 'ok', 'not_found', 'run_finished', 'stdin_closed' or 'payload_too_large:<pending>'.
   */
  sendStdin: `
if redis.call('SISMEMBER', KEYS[3], ARGV[6]) == 1 then return 'ok' end
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return 'not_found' end
if st == 'finished' then return 'run_finished' end
if redis.call('HGET', KEYS[1], 'stdinClosed') == '1' then return 'stdin_closed' end
local pending = math.max(0, tonumber(redis.call('HGET', KEYS[1], 'stdinPending') or '0'))
if pending + tonumber(ARGV[2]) > tonumber(ARGV[4]) then return 'payload_too_large:' .. pending end
redis.call('HINCRBY', KEYS[1], 'stdinPending', ARGV[2])
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'stdinClosed', '1') end
redis.call('XADD', KEYS[2], '*', 'j', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('SADD', KEYS[3], ARGV[6])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return 'ok'`,
  /**
   * KEYS: meta, control. ARGV: control entry JSON, control TTL ms. Queues a
   * resize of a TTY run; returns 'ok', 'not_found', 'run_finished' or 'not_a_terminal'.
   * (A resize sent twice is harmless: the size is the same.)
   */
  sendResize: `
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return 'not_found' end
if st == 'finished' then return 'run_finished' end
if redis.call('HGET', KEYS[1], 'tty') ~= '1' then return 'not_a_terminal' end
redis.call('XADD', KEYS[2], '*', 'j', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 'ok'`,
  /** KEYS: meta, control. ARGV: control entry JSON, control TTL ms. Queues a kill; returns 'ok', 'not_found' or 'run_finished'. */
  sendKill: `
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return 'not_found' end
if st == 'finished' then return 'run_finished' end
redis.call('XADD', KEYS[2], '*', 'j', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 'ok'`,
  /**
   * KEYS: activeRuns. ARGV: now, limit (0: none), token, token expiry.
   * Drops expired tokens, then adds this one unless `limit` are there. Returns {1 | 0, count}.
   */
  /**
   * KEYS: a room's `session` key. ARGV: the holder the gateway saw (`''`: none), the host it
   * chose, TTL ms. Gives the room to the chosen host if the holder is still the one seen (two
   * gateways placing the room's first runs at once agree on one host). Returns the holder after.
   */
  claimSession: `
local cur = redis.call('GET', KEYS[1])
if (cur or '') == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return ARGV[2]
end
return cur`,
  /** KEYS: a room's `session` key. ARGV: host id, TTL ms. Extends the room's affinity if it names this host, or nobody. */
  extendSession: `
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`,
  /**
   * KEYS: the room's terminals hash, its changes stream. ARGV: program, the new entry's JSON, TTL
   * ms, then TERMINAL_OPEN's five from ARGV[4]. Claims the room's terminal session of
   * `program` for the new entry unless the entry there is still open ({@link TERMINAL_OPEN}).
   * Returns the entry that holds the program now: the new one, or the open one (run twice, it
   * finds its own entry, which is open).
   */
  claimTerminal: `${TERMINAL_OPEN}
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and entryOpen(cur, 4) then return cur end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', '16', '*', 'p', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return ARGV[2]`,
  /** KEYS: the room's terminals hash. ARGV: TERMINAL_OPEN's five. Returns the JSON entries that are open. */
  listTerminals: `${TERMINAL_OPEN}
local out = {}
for _, json in ipairs(redis.call('HVALS', KEYS[1])) do
  if entryOpen(json, 1) then table.insert(out, json) end
end
return out`,
  /** KEYS: the room's terminals hash, its changes stream. ARGV: program, jobId. Frees the program's entry if it is still that run's. */
  releaseTerminal: `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local ok, e = pcall(cjson.decode, cur)
if ok and type(e) == 'table' and e.jobId ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', '16', '*', 'p', ARGV[1])
return 1`,
  acquireActive: `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local n = redis.call('ZCARD', KEYS[1])
if tonumber(ARGV[2]) > 0 and n >= tonumber(ARGV[2]) then return {0, n} end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return {1, n + 1}`,
} as const;
