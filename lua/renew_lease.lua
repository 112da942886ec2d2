-- renew_lease.lua: the holder extends its lease to ARGV[2] ms from now.
-- KEYS and ARGV[1..8]: see _lock_lib.lua.
-- Returns {status, expires_ms}:
--   {"renewed", expires_ms}  the caller holds the lock until expires_ms
--   {"not_owner", 0}         someone else holds it; nothing changed
--   {"not_held", 0}          nobody holds it; nothing changed
local holder = promote()
if not holder then
  return {'not_held', 0}
end
if holder ~= owner then
  return {'not_owner', 0}
end
local expires = now_ms + lease_ms
redis.call('HSET', K_LEASE, 'claimed', '1', 'lease_ms', int(lease_ms))
set_expiry(expires)
return {'renewed', expires}
