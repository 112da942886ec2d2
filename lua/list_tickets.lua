-- list_tickets.lua: every ticket of a resource: the holder first, then the queue in order, then
-- released tickets whose record is still kept, newest first. A lease that expired is handed on
-- and tickets without a sign of life are dropped before the list is made.
-- KEYS[1..6] (8 for a grouped lock): the resource's keys, see _prelude.lua.
-- ARGV[1..6] the resource's settings, see resource() in _prelude.lua
-- Returns an array with one entry per ticket: its record, see ticket_record() in _prelude.lua.
local R = resource(KEYS, ARGV, 1)

local holder = promote(R)
if redis.call('ZCARD', R.queue) > 0 then
  prune_gone(R)
end
trim_ended(R)

local out = {}
if holder then
  out[1] = ticket_record(R, holder, holder)
end
for _, t in ipairs(redis.call('ZRANGE', R.queue, 0, -1)) do
  out[#out + 1] = ticket_record(R, t, holder)
end

-- Released ones, newest first.
local released = {}
for _, member in ipairs(redis.call('ZRANGE', R.ended, 0, -1)) do
  if string.sub(member, 1, 2) == 'r:' then
    local t = string.sub(member, 3)
    local record = ticket_record(R, t, holder)
    if record and t ~= holder then
      released[#released + 1] = {tonumber(redis.call('HGET', R.tickets, t .. '|updated') or '0'),
        record}
    end
  end
end
table.sort(released, function(a, b) return a[1] > b[1] end)
for _, r in ipairs(released) do
  out[#out + 1] = r[2]
end
return out
