-- _courses.lua: helper functions of the course scripts (course_lock, course_unlock,
-- course_locks, put_course, show_course, delete_course), joined after _prelude.lua into the
-- same function library. Like the prelude, it touches no key by itself: each script passes its
-- KEYS and ARGV in through `course(...)`.
--
-- A course is these keys, all in one Redis Cluster slot:
--   course   hash: created_ms, updated_ms (the course exists while this key does)
--   gadgets  set: the course's gadget ids
--   editors  set: the user ids that may edit (lock) the course
--   locks    hash: per lock id i: 'i:'..i..':g' (gadget), ':o' (owner), ':c' (created ms),
--            ':f' (fencing token); 'g:'..gadget -> lock id; 'u:'..user -> lock id (a user
--            holds at most one lock per course)
--   fence    string: the last fencing token issued for the course
--   index    hash: lock id -> course id, for every course whose locks' ids carry this slot
--            (lock ids end with their course's slot number, so DELETE /locks/{id} finds the
--            index from the id alone; see `src/engine/keys.rs`)
--   expiry   sorted set: lock id -> when it expires (Redis ms)
-- Locks expire lazily: every script first drops the course's locks whose time is up, found in
-- `expiry` without looking at the others, so a lock call costs the same however many locks
-- the course holds.

-- The course a script works on: KEYS in the order above, and from ARGV[at] on: the course id
-- and how long the fence key outlives its last use (ms).
local function course(keys, argv, at)
  return {
    course = keys[1], gadgets = keys[2], editors = keys[3], locks = keys[4], fence = keys[5],
    index = keys[6], expiry = keys[7], id = argv[at], fence_ttl_ms = tonumber(argv[at + 1]),
  }
end

-- Forgets lock `i` (its fields, its gadget's and its owner's entries, its index entry).
local function drop_lock(C, i)
  local f = redis.call('HMGET', C.locks, 'i:' .. i .. ':g', 'i:' .. i .. ':o')
  redis.call('HDEL', C.locks, 'i:' .. i .. ':g', 'i:' .. i .. ':o', 'i:' .. i .. ':c',
    'i:' .. i .. ':f')
  if f[1] and redis.call('HGET', C.locks, 'g:' .. f[1]) == i then
    redis.call('HDEL', C.locks, 'g:' .. f[1])
  end
  if f[2] and redis.call('HGET', C.locks, 'u:' .. f[2]) == i then
    redis.call('HDEL', C.locks, 'u:' .. f[2])
  end
  redis.call('HDEL', C.index, i)
  redis.call('ZREM', C.expiry, i)
end

-- Drops the course's locks whose time is up.
local function prune(C)
  for _, i in ipairs(redis.call('ZRANGEBYSCORE', C.expiry, '-inf', int(now_ms))) do
    drop_lock(C, i)
  end
end

-- Lock `i` lasts until `expires_ms` (kept only in `expiry`).
local function set_expiry_of(C, i, expires_ms)
  redis.call('ZADD', C.expiry, int(expires_ms), i)
end

-- Every live lock id of the course, in id order, after dropping the ones whose time is up.
local function live_locks(C)
  prune(C)
  local ids = redis.call('ZRANGE', C.expiry, 0, -1)
  table.sort(ids)
  return ids
end

-- Lock `i` as name/value pairs: id, gadget, owner, created_ms, expires_ms, fence.
local function lock_reply(C, i)
  local f = redis.call('HMGET', C.locks, 'i:' .. i .. ':g', 'i:' .. i .. ':o', 'i:' .. i .. ':c',
    'i:' .. i .. ':f')
  return {'id', i, 'gadget', f[1], 'owner', f[2], 'created_ms', tonumber(f[3]),
    'expires_ms', tonumber(redis.call('ZSCORE', C.expiry, i)), 'fence', f[4]}
end

-- The session's end (Redis ms, 0 for none) has passed: the caller is no longer signed in.
local function session_over(ends_ms)
  return ends_ms > 0 and ends_ms <= now_ms
end

-- Why `user` may not act on the course now, as a reply, or nil when it may: its session ended
-- (`ends_ms`, Redis ms, 0 for none), the course does not exist, or the user is not an editor.
local function refusal(C, user, ends_ms)
  if session_over(ends_ms) then
    return {'status', 'session_over'}
  end
  if redis.call('EXISTS', C.course) == 0 then
    return {'status', 'no_course'}
  end
  if redis.call('SISMEMBER', C.editors, user) == 0 then
    return {'status', 'forbidden'}
  end
  return nil
end

-- Lock `i` as the reply of a lock call: its pairs, the status, and the time now.
local function locked_reply(C, i, status)
  local reply = lock_reply(C, i)
  for _, v in ipairs({'status', status, 'now_ms', now_ms}) do
    reply[#reply + 1] = v
  end
  return reply
end

-- The course as name/value pairs: gadgets and editors (sorted arrays), created_ms, updated_ms,
-- locks (how many are active).
local function course_reply(C)
  local f = redis.call('HMGET', C.course, 'created_ms', 'updated_ms')
  local gadgets = redis.call('SMEMBERS', C.gadgets)
  local editors = redis.call('SMEMBERS', C.editors)
  table.sort(gadgets)
  table.sort(editors)
  return {'gadgets', gadgets, 'editors', editors, 'created_ms', tonumber(f[1]),
    'updated_ms', tonumber(f[2]), 'locks', #live_locks(C)}
end
