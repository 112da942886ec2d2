-- course_unlock.lua: a user releases one of a course's locks by its id.
-- KEYS[1..7] the course's keys, see _courses.lua
-- ARGV[1] the lock id
-- ARGV[2] the user id
-- ARGV[3] when the caller's session ends (Redis ms; 0: no end)
-- ARGV[4..5] the course id and the fence retention, see course() in _courses.lua
-- Returns name/value pairs: status "released" | "session_over" | "not_found" (unknown, released
-- or expired) | "forbidden" (another user's lock; nothing changed)
local i, user = ARGV[1], ARGV[2]
local C = course(KEYS, ARGV, 4)

if session_over(tonumber(ARGV[3])) then
  return {'status', 'session_over'}
end
prune(C)
local owner = redis.call('HGET', C.locks, 'i:' .. i .. ':o')
if not owner then
  return {'status', 'not_found'}
end
if owner ~= user then
  return {'status', 'forbidden'}
end
drop_lock(C, i)
return {'status', 'released'}
