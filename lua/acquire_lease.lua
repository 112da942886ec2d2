-- acquire_lease.lua: take the lock, claim a hand-off made to the caller, renew the lease of a
-- holder with the caller's label, or join the queue. Otherwise a lock the caller already holds
-- is "busy" to it too (not re-entrant).
-- KEYS and ARGV[1..8]: see _lock_lib.lua.
-- ARGV[9] "1": join the FIFO queue (or refresh one's place and presence) when the lock is held;
--         "0": do not wait.
-- Returns {status, a, b, c, d}:
--   {"acquired", fencing_token, expires_ms, acquired_ms, owner}  the caller holds the lock now
--   {"resumed", fencing_token, expires_ms, acquired_ms, owner}   the holder had the caller's
--                                       label: its lease (owner token unchanged) runs again
--   {"queued", position, holder_pttl_ms, 0, ""}                  position 1 is next in line
--   {"busy", holder_pttl_ms, 0, 0, holder_label}                 held (by another, or by the
--                                                                caller itself); not waiting
local wait = ARGV[9] == '1'

local holder = promote()

if holder and label ~= '' and lease_field('label') == label and lease_field('claimed') == '1' then
  -- The same requester again (e.g. a retried request): renew, keep its lease id.
  local expires = now_ms + lease_ms
  redis.call('HSET', K_LEASE, 'lease_ms', int(lease_ms))
  set_expiry(expires)
  return {'resumed', tonumber(lease_field('fence')), expires, tonumber(lease_field('acquired_ms')),
    holder}
end

if holder == owner and lease_field('claimed') == '1' then
  -- The holder asking again is refused like anyone else: holding is not re-entrant.
  return {'busy', redis.call('PTTL', K_LEASE), 0, 0, lease_field('label') or ''}
end

if holder == owner then
  -- A hand-off being claimed: the full lease runs from now.
  local expires = now_ms + lease_ms
  redis.call('HSET', K_LEASE, 'claimed', '1', 'lease_ms', int(lease_ms))
  set_expiry(expires)
  forget_waiter(owner)
  return {'acquired', tonumber(lease_field('fence')), expires, tonumber(lease_field('acquired_ms')),
    owner}
end

if not holder then
  -- Free, and promote() found the queue empty: the caller is not in it either.
  local fence, expires = grant(owner, lease_ms, true)
  return {'acquired', fence, expires, now_ms, owner}
end

local pttl = redis.call('PTTL', K_LEASE)
if not wait then
  return {'busy', pttl, 0, 0, lease_field('label') or ''}
end

if not redis.call('ZSCORE', K_QUEUE, owner) then
  local last = redis.call('ZRANGE', K_QUEUE, -1, -1, 'WITHSCORES')[2]
  redis.call('ZADD', K_QUEUE, (tonumber(last) or 0) + 1, owner)
  redis.call('HSET', K_WAITERS, owner, int(lease_ms))
end
redis.call('ZADD', K_PRESENCE, int(now_ms + presence_ms), owner)
return {'queued', redis.call('ZRANK', K_QUEUE, owner) + 1, pttl, 0, ''}
