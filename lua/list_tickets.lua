-- list_tickets.lua: every ticket of a resource: the holder first, then the queue in order, then
-- released tickets whose record is still kept, newest first. A lease that expired is handed on
-- and tickets without a sign of life are dropped before the list is made.
-- KEYS[1..6] (8 for a grouped lock): the resource's keys, see _prelude.lua.
-- ARGV[1..6] the resource's settings, see resource() in _prelude.lua
-- Returns an array with one entry per ticket, each name/value pairs:
--   ticket, status "acquired", label, lease_ms, created_ms, fence, acquired_ms, expires_ms,
--     claimed (1/0)
--   ticket, status "queued", label, lease_ms, created_ms, position
--   ticket, status "released", label, lease_ms, created_ms, reason, updated_ms, and if it
--     had held the lock: fence, acquired_ms
local R = resource(KEYS, ARGV, 1)

local holder = promote(R)
if redis.call('ZCARD', R.queue) > 0 then
  prune_gone(R)
end
trim_ended(R)

local out = {}
if holder then
  local f = redis.call('HMGET', R.lease, 'label', 'lease_ms', 'created_ms', 'fence', 'acquired_ms',
    'expires_ms', 'claimed')
  out[#out + 1] = {'ticket', holder, 'status', 'acquired', 'label', f[1] or '',
    'lease_ms', tonumber(f[2]), 'created_ms', tonumber(f[3] or f[5]), 'fence', tonumber(f[4]),
    'acquired_ms', tonumber(f[5]), 'expires_ms', tonumber(f[6]),
    'claimed', f[7] == '1' and 1 or 0}
end

for i, t in ipairs(redis.call('ZRANGE', R.queue, 0, -1)) do
  local f = redis.call('HMGET', R.tickets, t .. '|label', t .. '|lease', t .. '|created')
  out[#out + 1] = {'ticket', t, 'status', 'queued', 'label', f[1] or '',
    'lease_ms', tonumber(f[2] or '0'), 'created_ms', tonumber(f[3] or '0'), 'position', i}
end

local released = {}
for _, member in ipairs(redis.call('ZRANGE', R.ended, 0, -1)) do
  if string.sub(member, 1, 2) == 'r:' then
    local t = string.sub(member, 3)
    local f = redis.call('HMGET', R.tickets, t .. '|label', t .. '|lease', t .. '|created',
      t .. '|reason', t .. '|updated', t .. '|fence', t .. '|start')
    local entry = {'ticket', t, 'status', 'released', 'label', f[1] or '',
      'lease_ms', tonumber(f[2] or '0'), 'created_ms', tonumber(f[3] or '0'),
      'reason', f[4] or '', 'updated_ms', tonumber(f[5] or '0')}
    if f[6] then
      for _, v in ipairs({'fence', tonumber(f[6]), 'acquired_ms', tonumber(f[7])}) do
        entry[#entry + 1] = v
      end
    end
    released[#released + 1] = {tonumber(f[5] or '0'), entry}
  end
end
table.sort(released, function(a, b) return a[1] > b[1] end)
for _, r in ipairs(released) do
  out[#out + 1] = r[2]
end
return out
