-- renew.lua: the holder extends its lease, which also confirms it (see withdraw.lua).
-- KEYS[1..6] (8 for a grouped lock): the resource's keys, see _prelude.lua.
-- ARGV[1] the caller's owner token
-- ARGV[2] the request's nonce, recorded as the lease's latest confirmation
-- ARGV[3] the new lease length in ms, from now
-- ARGV[4..9] the resource's settings, see resource() in _prelude.lua
-- Returns name/value pairs:
--   status "renewed", expires_ms   the caller holds the lock until expires_ms
--   status "not_owner"             someone else holds it; nothing changed
--   status "not_held"              nobody holds it; nothing changed
local owner, nonce, lease_ms = ARGV[1], ARGV[2], tonumber(ARGV[3])
local R = resource(KEYS, ARGV, 4)

local holder = promote(R)
if not holder then
  return {'status', 'not_held'}
end
if holder ~= owner then
  return {'status', 'not_owner'}
end
local expires = now_ms + lease_ms
redis.call('HSET', R.lease, 'claimed', '1', 'lease_ms', int(lease_ms), 'nonce', nonce)
set_expiry(R, expires)
return {'status', 'renewed', 'expires_ms', expires}
