-- _prelude.lua: helper functions of the lockgate function library. `src/engine/scripts/library.rs`
-- joins it with every lock script, each registered as a Redis function of its own, so these
-- helpers are compiled and defined once when the library is loaded, not on every call. It reads
-- no KEYS or ARGV and touches no key by itself: each script states its own KEYS and ARGV and
-- passes them in through `resource(...)`; each call starts by reading the clock (`now()`).
--
-- A resource (one lock) is these keys, all sharing one Redis Cluster hash tag:
--   lease     hash: the holder's ticket: owner, fence, acquired_ms, expires_ms, lease_ms, label,
--             created_ms (only when the ticket queued before; else it is acquired_ms),
--             claimed ("0" while a hand-off waits to be claimed by a waiting
--             gateway), nonce (the request that took or last confirmed it; "" until claimed)
--   queue     sorted set: queued ticket -> arrival sequence (FIFO order)
--   presence  sorted set: queued ticket -> Redis ms after which it counts as gone
--   tickets   hash: per queued ticket t, fields t..'|lease' (ms it asks for), t..'|live' (how
--             long it stays queued without a sign of life), t..'|claim' ("1": a gateway waits
--             for it and must claim a hand-off), t..'|label', t..'|created'; and per released
--             ticket kept for listing, t..'|status' ("released"), '|reason', '|fence',
--             '|start', '|updated' beside the same fields
--   fence     string: the last fencing token issued
--   ended     sorted set: "r:"..ticket -> Redis ms when its released record goes, and
--             "w:"..nonce -> Redis ms when the withdrawal of that request is forgotten
--   index, info  (grouped namespaces only) the group's index and this lock's record: see
--             list_locks.lua
--
-- Hand-offs are announced on the resource's channel as "<ticket> <ms the new lease lasts>", so
-- every waiter learns when the lease it waits behind ends; "*" wakes every waiter.

-- Redis's clock, never a pod's: milliseconds and microseconds since the epoch, read once at the
-- start of every call (by the wrapper library.rs puts around each script). `at_ms` is when what
-- the call records happened: now, except while promote() catches up with leases that ended
-- before the call (then it is the instant each ended).
local now_ms, now_us, at_ms = 0, 0, 0
local function now()
  local t = redis.call('TIME')
  now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
  now_ms = math.floor(now_us / 1000)
  at_ms = now_ms
end

-- Numbers as integer strings: Lua 5.1 would print 16-digit values in exponent form.
local function int(n)
  return string.format('%d', n)
end

-- The resource a lock script works on: its KEYS (6 keys, or 8 for a grouped lock) and six of
-- its ARGV from position `at` on, in this order: the hand-off channel, the lock's name (as the
-- group index records it), how long the fence key outlives its last use (ms), the claim window
-- of a hand-off to a waiting gateway (ms), a grouped lock's record retention (ms), and how long
-- released ticket records are kept (ms; 0 keeps none). Each script's header says where `at` is.
local function resource(keys, argv, at)
  return {
    lease = keys[1], queue = keys[2], presence = keys[3], tickets = keys[4], fence = keys[5],
    ended = keys[6], index = keys[7], info = keys[8],
    channel = argv[at], name = argv[at + 1], fence_ttl_ms = tonumber(argv[at + 2]),
    claim_ms = tonumber(argv[at + 3]), retention_ms = tonumber(argv[at + 4]),
    keep_ms = tonumber(argv[at + 5]),
  }
end

local function lease_field(R, field)
  return redis.call('HGET', R.lease, field)
end

-- Keeps `key` at least until `until_ms`.
local function extend_expiry(key, until_ms)
  if redis.call('PEXPIRETIME', key) < until_ms then
    redis.call('PEXPIREAT', key, int(until_ms))
  end
end

-- A grouped lock's record and index entry: it changed now, and its record lasts until
-- `until_ms` (the lease's end, or now when it became free) plus the retention.
local function record_change(R, until_ms)
  if not R.info then
    return
  end
  redis.call('HSETNX', R.info, 'created_ms', int(at_ms))
  redis.call('HSET', R.info, 'updated_ms', int(at_ms))
  local info_end = until_ms + R.retention_ms
  redis.call('PEXPIREAT', R.info, int(info_end))
  redis.call('ZADD', R.index, int(at_ms), R.name)
  extend_expiry(R.index, info_end)
end

-- When the lease hash goes: with its lease, or, where ticket records are kept, that long after
-- it, so promote() still finds the lease that ended and records it as it was.
local function lease_key_end(R, expires)
  return expires + math.max(R.keep_ms, 0)
end

-- Sets the lease to end at `expires` (Redis ms), as hash field and key expiry.
local function set_expiry(R, expires)
  redis.call('HSET', R.lease, 'expires_ms', int(expires))
  redis.call('PEXPIREAT', R.lease, int(lease_key_end(R, expires)))
  record_change(R, expires)
end

-- Whether the request `nonce` was withdrawn (its gateway gave up on it): it may change nothing.
local function withdrawn(R, nonce)
  return nonce ~= '' and redis.call('ZSCORE', R.ended, 'w:' .. nonce) ~= false
end

-- Strictly above every token issued before, also when the fence key was lost: the token is at
-- least Redis time in microseconds.
local function next_fence(R, lease_ms)
  local last = tonumber(redis.call('GET', R.fence) or '0')
  local fence = math.max(last + 1, now_us)
  redis.call('SET', R.fence, int(fence), 'PX', math.max(R.fence_ttl_ms, lease_ms))
  return fence
end

-- Writes a new lease for ticket `t` on a free lock. A hand-off to a waiting gateway (`claimed`
-- false) lasts only the claim window until that gateway claims it, so a waiter whose gateway
-- vanished cannot keep the lock for a whole lease.
local function grant(R, t, ms, claimed, label, nonce, created)
  local fence = next_fence(R, ms)
  local expires = at_ms + ms
  if not claimed then
    expires = at_ms + math.min(ms, R.claim_ms)
  end
  redis.call('HSET', R.lease, 'owner', t, 'fence', int(fence), 'acquired_ms', int(at_ms),
    'claimed', claimed and '1' or '0', 'lease_ms', int(ms), 'label', label,
    'expires_ms', int(expires), 'nonce', nonce)
  if created < at_ms then
    -- A ticket that queued first; one granted at once was created when it was acquired.
    redis.call('HSET', R.lease, 'created_ms', int(created))
  end
  redis.call('PEXPIREAT', R.lease, int(lease_key_end(R, expires)))
  if R.info then
    redis.call('HSET', R.info, 'owner', t, 'label', label, 'fence', int(fence))
    record_change(R, expires)
  end
  return fence, expires
end

-- The ticket fields and the `ended` set that indexes their records live at least until
-- `until_ms`, and always as long as each other, so trim_ended() finds every record to drop.
local function keep_records(R, until_ms)
  extend_expiry(R.tickets, until_ms)
  extend_expiry(R.ended, until_ms)
end

local TICKET_FIELDS = {'|lease', '|live', '|claim', '|label', '|created', '|status', '|reason',
  '|fence', '|start', '|updated'}

local function drop_ticket_fields(R, t)
  local fields = {}
  for i, f in ipairs(TICKET_FIELDS) do
    fields[i] = t .. f
  end
  redis.call('HDEL', R.tickets, unpack(fields))
end

-- Takes a queued ticket out of the queue (its fields stay for the caller to move or drop).
local function dequeue(R, t)
  redis.call('ZREM', R.queue, t)
  redis.call('ZREM', R.presence, t)
end

-- Keeps a released ticket's record for `keep_ms` when the resource keeps them, else forgets it.
-- `lease` is the lease hash's fields when the ticket held the lock.
local function end_ticket(R, t, reason, held)
  if R.keep_ms <= 0 then
    drop_ticket_fields(R, t)
    return
  end
  local record = {t .. '|status', 'released', t .. '|reason', reason, t .. '|updated', int(at_ms)}
  if held then
    for _, pair in ipairs({{'|lease', held.lease_ms}, {'|label', held.label},
        {'|created', held.created_ms}, {'|fence', held.fence}, {'|start', held.acquired_ms}}) do
      record[#record + 1] = t .. pair[1]
      record[#record + 1] = pair[2]
    end
  end
  redis.call('HSET', R.tickets, unpack(record))
  local gone = at_ms + R.keep_ms
  redis.call('ZADD', R.ended, int(gone), 'r:' .. t)
  keep_records(R, gone)
end

-- Forgets released records and withdrawals whose time is up.
local function trim_ended(R)
  local old = redis.call('ZRANGEBYSCORE', R.ended, '-inf', '(' .. int(now_ms))
  for _, member in ipairs(old) do
    if string.sub(member, 1, 2) == 'r:' then
      drop_ticket_fields(R, string.sub(member, 3))
    end
  end
  if #old > 0 then
    redis.call('ZREMRANGEBYSCORE', R.ended, '-inf', '(' .. int(now_ms))
  end
end

-- Drops queued tickets that gave no sign of life in time (their gateway or client went away),
-- as of `at_ms`; each is recorded as dropped at the instant its liveness ran out.
local function prune_gone(R)
  local gone = redis.call('ZRANGEBYSCORE', R.presence, '-inf', '(' .. int(at_ms), 'WITHSCORES')
  local as_of = at_ms
  for i = 1, #gone, 2 do
    local t = gone[i]
    dequeue(R, t)
    at_ms = tonumber(gone[i + 1])
    end_ticket(R, t, 'dropped_idle', nil)
  end
  at_ms = as_of
end

-- The lock is free: hands it to the longest live queued ticket, announces it on the channel,
-- and returns that ticket; nil when nobody (alive) waits, so the queue is empty then. Dead
-- tickets are pruned only when someone waits, so a free lock without a queue costs one call.
--
-- A hand-off to a waiting gateway is announced as "<ticket> <ms> u" (unclaimed) and noted in
-- the tickets hash as '~handoff' (its time) until claimed. Every live waiter, told of it, gives
-- a sign of life halfway through the claim window. So when such a hand-off lapsed unclaimed (its
-- gateway died), a gateway ticket that gave no sign of life since it was made belongs to a dead
-- gateway too (a pod takes all its waiters with it) and is passed over at once, instead of
-- costing a claim window each.
local function hand_off(R)
  if not redis.call('ZRANGE', R.queue, 0, 0)[1] then
    return nil
  end
  prune_gone(R)
  trim_ended(R)
  local lapsed = redis.call('HGET', R.tickets, '~handoff')
  if lapsed then
    lapsed = tonumber(lapsed)
    redis.call('HDEL', R.tickets, '~handoff')
  end
  while true do
    local head = redis.call('ZRANGE', R.queue, 0, 0)[1]
    if not head then
      return nil
    end
    local f = redis.call('HMGET', R.tickets, head .. '|lease', head .. '|claim',
      head .. '|label', head .. '|created', head .. '|live')
    local gateway = f[2] == '1'
    local silent = false
    if lapsed and gateway then
      local deadline = tonumber(redis.call('ZSCORE', R.presence, head) or '0')
      silent = deadline - tonumber(f[5] or '0') < lapsed
    end
    dequeue(R, head)
    if silent then
      end_ticket(R, head, 'dropped_idle', nil)
    else
      drop_ticket_fields(R, head)
    end
    -- A ticket whose fields expired with its liveness is gone: pass it over.
    if f[1] and not silent then
      local _, expires = grant(R, head, tonumber(f[1]), not gateway, f[3] or '', '',
        tonumber(f[4] or at_ms))
      local message = head .. ' ' .. int(math.max(expires - now_ms, 0))
      if gateway then
        message = message .. ' u'
        redis.call('HSET', R.tickets, '~handoff', int(at_ms))
      end
      redis.call('PUBLISH', R.channel, message)
      return head
    end
  end
end

-- A queued ticket gave a sign of life: it stays queued for `live_ms` from now. The queue's keys
-- last that long, and where released records are kept, that plus their retention, so a call
-- after the ticket went idle still finds it and records its drop.
local function keep_queued(R, t, live_ms)
  local until_ms = now_ms + live_ms
  redis.call('ZADD', R.presence, int(until_ms), t)
  local keys_until = until_ms + R.keep_ms
  extend_expiry(R.queue, keys_until)
  extend_expiry(R.presence, keys_until)
  keep_records(R, keys_until)
end

-- The lease hash as a table, for a ticket's record.
local function lease_table(R)
  local f = redis.call('HMGET', R.lease, 'lease_ms', 'label', 'created_ms', 'fence', 'acquired_ms')
  return {lease_ms = f[1], label = f[2], created_ms = f[3] or f[5], fence = f[4],
    acquired_ms = f[5]}
end

-- The holder's lease ends now (released, withdrawn or cleared), recorded with `reason` when the
-- resource keeps records; the longest live queued ticket gets it at once. A holder has no
-- ticket fields (a hand-off moves them into the lease), so without records nothing else is
-- written: the uncontended release stays cheap.
local function end_lease(R, holder, reason)
  local held = R.keep_ms > 0 and lease_table(R)
  redis.call('DEL', R.lease)
  record_change(R, at_ms)
  if held then
    end_ticket(R, holder, reason, held)
  end
  hand_off(R)
end

-- Runs first in every lock script, which is how a lease that simply expired reaches the queue.
-- Returns the holder's ticket after any hand-off, or nil when the lock is free and nobody waits.
-- Where ticket records are kept, a lease that ended before this call is ended as of the instant
-- it ended (status "expired"), and the queue moves on from that instant: the next holder's
-- lease starts then, tickets idle by then are dropped, and so on until a lease runs now. So
-- whatever asks, at whatever moment, sees the resource as it is at that moment.
local function promote(R)
  local holder = lease_field(R, 'owner')
  if not holder then
    return hand_off(R)
  end
  if R.keep_ms > 0 then
    while holder do
      local expires = tonumber(lease_field(R, 'expires_ms'))
      if expires > now_ms then
        break
      end
      at_ms = expires
      end_lease(R, holder, 'expired')
      holder = lease_field(R, 'owner')
    end
    at_ms = now_ms
  end
  return holder
end

-- Ms until the running lease ends (-2 when there is none).
local function lease_ttl(R)
  local expires = lease_field(R, 'expires_ms')
  if not expires then
    return -2
  end
  return math.max(tonumber(expires) - now_ms, 0)
end

-- 1-based position of a queued ticket, or nil.
local function position(R, t)
  local rank = redis.call('ZRANK', R.queue, t)
  if rank then
    return rank + 1
  end
  return nil
end

-- A ticket's record, as name/value pairs: ticket, status, label, lease_ms, created_ms,
-- updated_ms, and by status: acquired: fence, acquired_ms, expires_ms, claimed (1/0); queued:
-- position; released: reason, and if it had held the lock: fence, acquired_ms. Nil when the
-- ticket is unknown (or its record is gone). `holder` is promote()'s answer.
local function ticket_record(R, t, holder)
  if t == holder then
    local f = redis.call('HMGET', R.lease, 'label', 'lease_ms', 'created_ms', 'fence',
      'acquired_ms', 'expires_ms', 'claimed')
    return {'ticket', t, 'status', 'acquired', 'label', f[1] or '', 'lease_ms', tonumber(f[2]),
      'created_ms', tonumber(f[3] or f[5]), 'updated_ms', tonumber(f[5]), 'fence', tonumber(f[4]),
      'acquired_ms', tonumber(f[5]), 'expires_ms', tonumber(f[6]),
      'claimed', f[7] == '1' and 1 or 0}
  end
  local at = redis.call('ZRANK', R.queue, t)
  if at then
    local f = redis.call('HMGET', R.tickets, t .. '|label', t .. '|lease', t .. '|created')
    local created = tonumber(f[3] or '0')
    return {'ticket', t, 'status', 'queued', 'label', f[1] or '', 'lease_ms', tonumber(f[2] or '0'),
      'created_ms', created, 'updated_ms', created, 'position', at + 1}
  end
  local gone = redis.call('ZSCORE', R.ended, 'r:' .. t)
  if not gone or tonumber(gone) < now_ms then
    return nil
  end
  local f = redis.call('HMGET', R.tickets, t .. '|label', t .. '|lease', t .. '|created',
    t .. '|reason', t .. '|updated', t .. '|fence', t .. '|start')
  local record = {'ticket', t, 'status', 'released', 'label', f[1] or '',
    'lease_ms', tonumber(f[2] or '0'), 'created_ms', tonumber(f[3] or '0'),
    'updated_ms', tonumber(f[5] or '0'), 'reason', f[4] or ''}
  if f[6] then
    record[#record + 1] = 'fence'
    record[#record + 1] = tonumber(f[6])
    record[#record + 1] = 'acquired_ms'
    record[#record + 1] = tonumber(f[7])
  end
  return record
end

-- The reply of a ticket that no longer waits or holds: its record while kept, or "unknown".
local function ended_reply(R, t)
  local gone = redis.call('ZSCORE', R.ended, 'r:' .. t)
  if gone and tonumber(gone) >= now_ms then
    return {'status', 'released', 'reason', redis.call('HGET', R.tickets, t .. '|reason') or ''}
  end
  return {'status', 'unknown'}
end
