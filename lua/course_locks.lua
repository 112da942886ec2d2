-- course_locks.lua: the active locks of a course, for a user who may edit it.
-- KEYS[1..7] the course's keys, see _courses.lua
-- ARGV[1] the user id
-- ARGV[2] when the caller's session ends (Redis ms; 0: no end)
-- ARGV[3..4] the course id and the fence retention, see course() in _courses.lua
-- Returns name/value pairs: status "listed", now_ms, locks (an array of lock_reply() pairs, in
-- id order); or status "session_over" | "no_course" | "forbidden"
local user = ARGV[1]
local C = course(KEYS, ARGV, 3)

local refused = refusal(C, user, tonumber(ARGV[2]))
if refused then
  return refused
end
local locks = {}
for _, i in ipairs(live_locks(C)) do
  locks[#locks + 1] = lock_reply(C, i)
end
return {'status', 'listed', 'now_ms', now_ms, 'locks', locks}
