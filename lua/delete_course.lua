-- delete_course.lua: deletes a course and releases its locks. The fence key stays, so a course
-- created again under the same id keeps issuing larger tokens.
-- KEYS[1..7] the course's keys, see _courses.lua
-- ARGV[1..2] the course id and the fence retention, see course() in _courses.lua
-- Returns name/value pairs: status "deleted", released (locks released); or status "missing"
local C = course(KEYS, ARGV, 1)
if redis.call('EXISTS', C.course) == 0 then
  return {'status', 'missing'}
end
local ids = live_locks(C)
for _, i in ipairs(ids) do
  drop_lock(C, i)
end
redis.call('DEL', C.course, C.gadgets, C.editors, C.locks, C.expiry)
return {'status', 'deleted', 'released', #ids}
