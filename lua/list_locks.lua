-- list_locks.lua: the records of a grouped namespace's locks, held ones and released ones whose
-- record has not yet expired. A lock's record (its `info` hash, see _prelude.lua) holds the
-- current or last lease's owner, label and fence, created_ms and updated_ms, and expires a
-- retention after the lease ended.
-- KEYS[1] the group's index (sorted set: lock name -> Redis ms of its last change)
-- ARGV[1] the group's member key prefix: a lock's keys are ARGV[1] .. name .. ':lease' and
--         ':info' (same hash tag as KEYS[1], so in the same cluster slot)
-- ARGV[2] one lock name to describe, or "" for all of them
-- Returns an array with one entry per lock, sorted by name, each name/value pairs:
--   name, owner, label, fence, created_ms, updated_ms, locked (1/0), and expires_ms if locked
-- Names whose record expired are dropped from the index as they are met.
local index = KEYS[1]
local member_prefix = ARGV[1]

local names = {}
if ARGV[2] ~= '' then
  names[1] = ARGV[2]
else
  names = redis.call('ZRANGE', index, 0, -1)
  table.sort(names)
end

local out = {}
for _, name in ipairs(names) do
  local info = redis.call('HMGET', member_prefix .. name .. ':info', 'owner', 'label', 'fence',
    'created_ms', 'updated_ms')
  if not info[1] then
    redis.call('ZREM', index, name)
  else
    local expires = redis.call('HGET', member_prefix .. name .. ':lease', 'expires_ms')
    local entry = {'name', name, 'owner', info[1], 'label', info[2] or '',
      'fence', tonumber(info[3]), 'created_ms', tonumber(info[4]), 'updated_ms', tonumber(info[5]),
      'locked', expires and 1 or 0}
    if expires then
      entry[#entry + 1] = 'expires_ms'
      entry[#entry + 1] = tonumber(expires)
    end
    out[#out + 1] = entry
  end
end
return out
