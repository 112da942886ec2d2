-- inspect_lease.lua: who holds the lock and how many wait for it.
-- KEYS and ARGV[1..8]: see _lock_lib.lua (ARGV[1] and ARGV[2] are unused). It writes only what
-- promote() writes: a lease that expired is handed to the next waiter before it is reported.
-- Returns {status, owner, fencing_token, acquired_ms, expires_ms, waiting}:
--   {"held", owner, fencing_token, acquired_ms, expires_ms, waiting}
--   {"free", "", 0, 0, 0, waiting}
local holder = promote()
local waiting = redis.call('ZCARD', K_QUEUE)
if not holder then
  return {'free', '', 0, 0, 0, waiting}
end
return {'held', holder, tonumber(lease_field('fence')), tonumber(lease_field('acquired_ms')),
  tonumber(lease_field('expires_ms')), waiting}
