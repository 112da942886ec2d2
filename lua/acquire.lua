-- acquire.lua: one try to take a lock, without queueing: take it if it is free and nobody is
-- queued, renew it for a holder with the caller's label, else report who holds it. Holding is
-- not re-entrant: the holder asking again is refused like anyone else.
-- KEYS[1..6] (8 for a grouped lock): the resource's keys, see _prelude.lua.
-- ARGV[1] the caller's owner token
-- ARGV[2] the request's nonce: the lease remembers it; a withdrawn nonce changes nothing
-- ARGV[3] the caller's label, "" for none: a holder with the same non-empty label gets its lease
--         renewed (a retried request must not leak the lock)
-- ARGV[4] lease length in ms
-- ARGV[5..10] the resource's settings, see resource() in _prelude.lua
-- Returns name/value pairs:
--   status "acquired", fence, expires_ms, acquired_ms   the caller holds the lock now
--   status "resumed", owner, fence, expires_ms, acquired_ms   the holder had the caller's label:
--                                                  its lease (owner token unchanged) runs again
--   status "busy", ttl_ms, label                     held by another (or by the caller itself)
--   status "withdrawn"                               the request was withdrawn before it ran
local owner, nonce, label, lease_ms = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local R = resource(KEYS, ARGV, 5)

if withdrawn(R, nonce) then
  return {'status', 'withdrawn'}
end

local holder = promote(R)
if not holder then
  local fence, expires = grant(R, owner, lease_ms, true, label, nonce, now_ms)
  return {'status', 'acquired', 'fence', fence, 'expires_ms', expires, 'acquired_ms', now_ms}
end

local f = redis.call('HMGET', R.lease, 'label', 'claimed', 'fence', 'acquired_ms')
if label ~= '' and f[1] == label and f[2] == '1' then
  local expires = now_ms + lease_ms
  redis.call('HSET', R.lease, 'lease_ms', int(lease_ms), 'nonce', nonce)
  set_expiry(R, expires)
  return {'status', 'resumed', 'owner', holder, 'fence', tonumber(f[3]), 'expires_ms', expires,
    'acquired_ms', tonumber(f[4])}
end
return {'status', 'busy', 'ttl_ms', lease_ttl(R), 'label', f[1] or ''}
