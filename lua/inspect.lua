-- inspect.lua: who holds the lock and how many tickets are queued. It writes only what promote()
-- writes: a lease that expired is handed to the next queued ticket before it is reported.
-- KEYS[1..6] (8 for a grouped lock): the resource's keys, see _prelude.lua.
-- ARGV[1..6] the resource's settings, see resource() in _prelude.lua
-- Returns name/value pairs:
--   status "held", owner, fence, acquired_ms, expires_ms, queued
--   status "free", queued
local R = resource(KEYS, ARGV, 1)

local holder = promote(R)
local queued = redis.call('ZCARD', R.queue)
if not holder then
  return {'status', 'free', 'queued', queued}
end
local f = redis.call('HMGET', R.lease, 'fence', 'acquired_ms', 'expires_ms')
return {'status', 'held', 'owner', holder, 'fence', tonumber(f[1]), 'acquired_ms', tonumber(f[2]),
  'expires_ms', tonumber(f[3]), 'queued', queued}
