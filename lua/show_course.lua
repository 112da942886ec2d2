-- show_course.lua: a course as the operator sees it.
-- KEYS[1..7] the course's keys, see _courses.lua
-- ARGV[1..2] the course id and the fence retention, see course() in _courses.lua
-- Returns name/value pairs: status "found", gadgets (array), editors (array), created_ms,
-- updated_ms, locks (how many are active); or status "missing"
local C = course(KEYS, ARGV, 1)
if redis.call('EXISTS', C.course) == 0 then
  return {'status', 'missing'}
end
local f = redis.call('HMGET', C.course, 'created_ms', 'updated_ms')
local gadgets = redis.call('SMEMBERS', C.gadgets)
local editors = redis.call('SMEMBERS', C.editors)
table.sort(gadgets)
table.sort(editors)
return {'status', 'found', 'gadgets', gadgets, 'editors', editors, 'created_ms', tonumber(f[1]),
  'updated_ms', tonumber(f[2]), 'locks', #live_locks(C)}
