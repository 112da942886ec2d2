-- put_course.lua: creates or replaces a course: its gadgets and its editors. Locks on a gadget
-- no longer in the course, or held by a user who may no longer edit it, are released.
-- KEYS[1..7] the course's keys, see _courses.lua
-- ARGV[1] how many gadget ids follow (n)
-- ARGV[2..n+1] the gadget ids; ARGV[n+2..#ARGV-2] the editors' user ids
-- ARGV[#ARGV-1..#ARGV] the course id and the fence retention, see course() in _courses.lua
-- Returns name/value pairs: status "created" | "replaced", released (locks released), and the
-- course as it is now (see course_reply() in _courses.lua)
local n = tonumber(ARGV[1])
local C = course(KEYS, ARGV, #ARGV - 1)
local gadgets, editors = {}, {}
for k = 2, n + 1 do
  gadgets[#gadgets + 1] = ARGV[k]
end
for k = n + 2, #ARGV - 2 do
  editors[#editors + 1] = ARGV[k]
end

local status = 'replaced'
if redis.call('EXISTS', C.course) == 0 then
  status = 'created'
  redis.call('HSET', C.course, 'created_ms', int(now_ms))
end
redis.call('HSET', C.course, 'updated_ms', int(now_ms))
redis.call('DEL', C.gadgets, C.editors)
for _, g in ipairs(gadgets) do
  redis.call('SADD', C.gadgets, g)
end
for _, e in ipairs(editors) do
  redis.call('SADD', C.editors, e)
end

local released = 0
for _, i in ipairs(live_locks(C)) do
  local f = redis.call('HMGET', C.locks, 'i:' .. i .. ':g', 'i:' .. i .. ':o')
  if redis.call('SISMEMBER', C.gadgets, f[1]) == 0
      or redis.call('SISMEMBER', C.editors, f[2]) == 0 then
    drop_lock(C, i)
    released = released + 1
  end
end
local reply = course_reply(C)
for _, v in ipairs({'status', status, 'released', released}) do
  reply[#reply + 1] = v
end
return reply
