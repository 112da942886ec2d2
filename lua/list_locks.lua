-- list_locks.lua: the records of a grouped namespace's locks, held ones and released ones whose
-- record has not yet expired (see _lock_lib.lua, KEYS[7]).
-- KEYS[1] the group's index (sorted set: lock name -> Redis ms of its last change)
-- ARGV[1] the group's member key prefix: a lock's keys are ARGV[1] .. name .. ':lease' and
--         ':info' (same hash tag as KEYS[1], so in the same cluster slot)
-- ARGV[2] one lock name to describe, or "" for all of them
-- Returns a flat array, eight items per lock, sorted by name:
--   name, owner, label, fencing_token, created_ms, updated_ms, locked (1/0), expires_ms (0 if free)
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
    for _, v in ipairs({name, info[1], info[2], tonumber(info[3]), tonumber(info[4]),
        tonumber(info[5]), expires and 1 or 0, tonumber(expires or '0')}) do
      out[#out + 1] = v
    end
  end
end
return out
