-- show_course.lua: a course as the operator sees it.
-- KEYS[1..7] the course's keys, see _courses.lua
-- ARGV[1..2] the course id and the fence retention, see course() in _courses.lua
-- Returns name/value pairs: status "found" and the course (see course_reply() in
-- _courses.lua); or status "missing"
local C = course(KEYS, ARGV, 1)
if redis.call('EXISTS', C.course) == 0 then
  return {'status', 'missing'}
end
local reply = course_reply(C)
reply[#reply + 1] = 'status'
reply[#reply + 1] = 'found'
return reply
