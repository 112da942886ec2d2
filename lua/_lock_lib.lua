-- _lock_lib.lua: helpers prepended to every lock script (src/engine/scripts.rs joins them).
-- It defines functions only and touches no key by itself.
--
-- Every lock script takes the same five or six keys, all sharing one Redis Cluster hash tag:
--   KEYS[1] lease     hash: owner, fence, acquired_ms, expires_ms, claimed ("1" once the holder
--                     confirmed it; "0" while a hand-off waits to be claimed), lease_ms
--   KEYS[2] queue     sorted set: waiter token -> arrival sequence (FIFO order)
--   KEYS[3] waiters   hash: waiter token -> lease length in ms it asked for
--   KEYS[4] presence  sorted set: waiter token -> Redis time in ms after which it counts as gone
--   KEYS[5] fence     string: the last fencing token issued for this lock
--   KEYS[6] index     (grouped namespaces only) sorted set: lock name -> Redis ms of its last
--                     change; the key expires when the last of its locks' records does
--   KEYS[7] info      (grouped namespaces only) hash: the current or last lease's owner, label
--                     and fencing token, created_ms, updated_ms; it expires `retention` after
--                     the lease ended, so a released lock stays visible that long
-- and the same leading arguments:
--   ARGV[1] owner token of the caller
--   ARGV[2] lease length in ms the caller asks for
--   ARGV[3] presence timeout in ms (also the claim window of a hand-off)
--   ARGV[4] how long the fence key outlives its last use, in ms
--   ARGV[5] pub/sub channel on which hand-offs are announced
--   ARGV[6] the lock's name, as the index records it
--   ARGV[7] retention in ms of a grouped lock's record after its lease ended (0 otherwise)
--   ARGV[8] the caller's label (e.g. a requester), "" for none: a holder asking again with the
--           same non-empty label gets its lease renewed instead of "busy"
-- Script-specific arguments start at ARGV[9].

local K_LEASE, K_QUEUE, K_WAITERS, K_PRESENCE, K_FENCE = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local K_INDEX, K_INFO = KEYS[6], KEYS[7]
local owner = ARGV[1]
local lease_ms = tonumber(ARGV[2])
local presence_ms = tonumber(ARGV[3])
local fence_ttl_ms = tonumber(ARGV[4])
local channel = ARGV[5]
local name = ARGV[6]
local retention_ms = tonumber(ARGV[7])
local label = ARGV[8]

-- Redis's clock, never a pod's: milliseconds and microseconds since the epoch.
local function clock()
  local t = redis.call('TIME')
  local us = tonumber(t[1]) * 1000000 + tonumber(t[2])
  return math.floor(us / 1000), us
end
local now_ms, now_us = clock()

-- Numbers as integer strings: Lua 5.1 would print 16-digit values in exponent form.
local function int(n)
  return string.format('%d', n)
end

-- A grouped lock's record and index entry: it changed now, and its record lasts until
-- `until_ms` (the lease's end, or now when it became free) plus the retention.
local function record_change(until_ms)
  if not K_INFO then
    return
  end
  redis.call('HSETNX', K_INFO, 'created_ms', int(now_ms))
  redis.call('HSET', K_INFO, 'updated_ms', int(now_ms))
  local info_end = until_ms + retention_ms
  redis.call('PEXPIREAT', K_INFO, int(info_end))
  redis.call('ZADD', K_INDEX, int(now_ms), name)
  local index_end = redis.call('PEXPIRETIME', K_INDEX)
  if index_end < info_end then
    redis.call('PEXPIREAT', K_INDEX, int(info_end))
  end
end

-- Sets the lease to end at `expires` (Redis time, ms), as hash field and key expiry.
local function set_expiry(expires)
  redis.call('HSET', K_LEASE, 'expires_ms', int(expires))
  redis.call('PEXPIREAT', K_LEASE, int(expires))
  record_change(expires)
end

-- The lock becomes free now.
local function drop_lease()
  redis.call('DEL', K_LEASE)
  record_change(now_ms)
end

-- Strictly above every token issued before, also when the fence key was lost: the token is at
-- least Redis time in microseconds.
local function next_fence()
  local last = tonumber(redis.call('GET', K_FENCE) or '0')
  local fence = math.max(last + 1, now_us)
  redis.call('SET', K_FENCE, int(fence), 'PX', math.max(fence_ttl_ms, lease_ms))
  return fence
end

-- Writes a new lease for `who`. An unclaimed hand-off lasts only the claim window, so a waiter
-- whose gateway vanished cannot keep the lock for a whole lease.
local function grant(who, ms, claimed)
  local fence = next_fence()
  local expires = now_ms + ms
  if not claimed then
    expires = now_ms + math.min(ms, presence_ms)
  end
  local who_label = (who == owner) and label or ''
  -- Only ever called on a free lock: there is no old lease to clear.
  redis.call('HSET', K_LEASE, 'owner', who, 'fence', int(fence), 'acquired_ms', int(now_ms),
    'claimed', claimed and '1' or '0', 'lease_ms', int(ms), 'label', who_label,
    'expires_ms', int(expires))
  redis.call('PEXPIREAT', K_LEASE, int(expires))
  if K_INFO then
    redis.call('HSET', K_INFO, 'owner', who, 'label', who_label, 'fence', int(fence))
    record_change(expires)
  end
  return fence, expires
end

local function forget_waiter(who)
  redis.call('ZREM', K_QUEUE, who)
  redis.call('HDEL', K_WAITERS, who)
  redis.call('ZREM', K_PRESENCE, who)
end

-- Drops waiters whose gateway stopped refreshing their presence.
local function prune_gone()
  local gone = redis.call('ZRANGEBYSCORE', K_PRESENCE, '-inf', '(' .. int(now_ms))
  for _, who in ipairs(gone) do
    forget_waiter(who)
  end
end

-- The lock is free: hands it to the longest live waiter, announces it on the channel, and
-- returns that waiter's token; nil when nobody (alive) waits, so the queue is empty then.
-- Dead waiters are pruned only when someone waits, so a free lock without a queue costs one call.
local function hand_off()
  if not redis.call('ZRANGE', K_QUEUE, 0, 0)[1] then
    return nil
  end
  prune_gone()
  local head = redis.call('ZRANGE', K_QUEUE, 0, 0)[1]
  if not head then
    return nil
  end
  local ms = tonumber(redis.call('HGET', K_WAITERS, head) or lease_ms)
  forget_waiter(head)
  grant(head, ms, false)
  redis.call('PUBLISH', channel, head)
  return head
end

-- Runs first in every script, which is how a lease that simply expired reaches the queue.
-- Returns the holder's token after any hand-off, or nil when the lock is free and nobody waits.
local function promote()
  local holder = redis.call('HGET', K_LEASE, 'owner')
  if holder then
    return holder
  end
  return hand_off()
end

local function lease_field(name)
  return redis.call('HGET', K_LEASE, name)
end
