-- release.lua: the holder gives the lock up; the longest live queued ticket gets it at once.
-- KEYS[1..6] (8 for a grouped lock): the resource's keys, see _prelude.lua.
-- ARGV[1] the caller's owner token
-- ARGV[2..7] the resource's settings, see resource() in _prelude.lua
-- Returns name/value pairs:
--   status "released"    the caller held the lock and no longer does
--   status "not_owner"   someone else holds it; nothing changed
--   status "not_held"    nobody holds it; nothing changed
--   status "unknown"     nobody holds it and a grouped lock has no record (never held, or
--                        forgotten)
local owner = ARGV[1]
local R = resource(KEYS, ARGV, 2)

local holder = promote(R)
if not holder then
  if R.info and redis.call('EXISTS', R.info) == 0 then
    return {'status', 'unknown'}
  end
  return {'status', 'not_held'}
end
if holder ~= owner then
  return {'status', 'not_owner'}
end
end_lease(R, owner, 'released')
return {'status', 'released'}
