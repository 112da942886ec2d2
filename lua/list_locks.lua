-- list_locks.lua: every lock of a grouped namespace, held ones and recently freed ones.
-- KEYS[1] the group's index (sorted set: name -> when its state ends or began, Redis ms).
-- ARGV[1] the group's member key prefix; a lock's lease key is ARGV[1] .. name .. ':lease'
--         (same hash tag as KEYS[1], so in the same cluster slot).
-- ARGV[2] retention in ms: a lock free for longer than this is dropped from the index.
-- Returns a flat array, six items per lock, sorted by name:
--   name, owner ("" when free), fencing_token, acquired_ms, expires_ms, free_since_ms
--   (a held lock has free_since_ms 0; a free one has owner "" and zeros for the lease fields)
local index = KEYS[1]
local member_prefix = ARGV[1]
local retention_ms = tonumber(ARGV[2])
local t = redis.call('TIME')
local now_ms = math.floor((tonumber(t[1]) * 1000000 + tonumber(t[2])) / 1000)

local entries = redis.call('ZRANGE', index, 0, -1, 'WITHSCORES')
local names = {}
for i = 1, #entries, 2 do
  names[#names + 1] = {entries[i], tonumber(entries[i + 1])}
end
table.sort(names, function(a, b) return a[1] < b[1] end)

local out = {}
for _, entry in ipairs(names) do
  local name, score = entry[1], entry[2]
  local lease = redis.call('HMGET', member_prefix .. name .. ':lease', 'owner', 'fence',
    'acquired_ms', 'expires_ms')
  if lease[1] then
    for _, v in ipairs({name, lease[1], tonumber(lease[2]), tonumber(lease[3]),
        tonumber(lease[4]), 0}) do
      out[#out + 1] = v
    end
  elseif score < now_ms - retention_ms then
    redis.call('ZREM', index, name)
  else
    -- Free: released at `score`, or its lease ran out at `score`.
    for _, v in ipairs({name, '', 0, 0, 0, score}) do
      out[#out + 1] = v
    end
  end
end
return out
