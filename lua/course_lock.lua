-- course_lock.lua: a user locks a gadget of a course for editing. A user holds at most one lock
-- per course: locking another gadget releases the first in the same step; locking the gadget
-- the user holds renews it (same id, created time and token). Refusals change nothing.
-- KEYS[1..7] the course's keys, see _courses.lua
-- ARGV[1] the user id
-- ARGV[2] the gadget id
-- ARGV[3] the id a new lock gets (a positive 64-bit integer ending with the course's slot)
-- ARGV[4] how long the lock lasts from now, in ms
-- ARGV[5] when the caller's session ends (Redis ms; 0: no end)
-- ARGV[6..7] the course id and the fence retention, see course() in _courses.lua
-- Returns name/value pairs: status, and for "locked" and "renewed" the lock's fields (see
-- lock_reply() in _courses.lua) and now_ms:
--   status "locked" | "renewed" | "session_over" | "no_course" | "forbidden" | "no_gadget" |
--          "held" (by another user) | "id_taken" (the new id is in use: draw another)
local user, gadget, new_id, lock_ms = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local C = course(KEYS, ARGV, 6)

local refused = refusal(C, user, tonumber(ARGV[5]))
if refused then
  return refused
end
if redis.call('SISMEMBER', C.gadgets, gadget) == 0 then
  return {'status', 'no_gadget'}
end
prune(C)

local held = redis.call('HGET', C.locks, 'g:' .. gadget)
if held then
  if redis.call('HGET', C.locks, 'i:' .. held .. ':o') ~= user then
    return {'status', 'held'}
  end
  set_expiry_of(C, held, now_ms + lock_ms)
  return locked_reply(C, held, 'renewed')
end
if redis.call('HEXISTS', C.locks, 'i:' .. new_id .. ':g') == 1
    or redis.call('HEXISTS', C.index, new_id) == 1 then
  return {'status', 'id_taken'}
end
local mine = redis.call('HGET', C.locks, 'u:' .. user)
if mine then
  drop_lock(C, mine)
end
local fence = next_fence(C, lock_ms)
redis.call('HSET', C.locks, 'i:' .. new_id .. ':g', gadget, 'i:' .. new_id .. ':o', user,
  'i:' .. new_id .. ':c', int(now_ms), 'i:' .. new_id .. ':f', int(fence),
  'g:' .. gadget, new_id, 'u:' .. user, new_id)
set_expiry_of(C, new_id, now_ms + lock_ms)
redis.call('HSET', C.index, new_id, C.id)
return locked_reply(C, new_id, 'locked')
