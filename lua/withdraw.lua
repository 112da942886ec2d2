-- withdraw.lua: a ticket gives up, or a gateway takes back a request it could not finish (its
-- Redis call timed out, its client went away, it is shutting down). A queued ticket leaves the
-- queue; a ticket holding the lock releases it, which passes it to the next queued ticket, unless
-- a later request confirmed that lease (its nonce differs and it was claimed). The nonce is
-- remembered for `withdrawn_ms`, so the withdrawn request, should it still reach Redis late,
-- changes nothing.
-- KEYS[1..6] (8 for a grouped lock): the resource's keys, see _prelude.lua.
-- ARGV[1] the ticket (owner token)
-- ARGV[2] the nonce of the request taken back, or "" to end the ticket whatever took it
-- ARGV[3] the reason kept in the ticket's record: withdrawn, released or force_released
-- ARGV[4] how long the withdrawal is remembered, in ms
-- ARGV[5] who ends it (a label), or "": when set, the reason follows from it instead of ARGV[3]:
--         "released" when it is the holder's own label, else "force_released"; "withdrawn" for
--         a queued ticket
-- ARGV[6..11] the resource's settings, see resource() in _prelude.lua
-- Returns name/value pairs, with `record` (see ticket_record() in _prelude.lua) when the ticket
-- is still known afterwards:
--   status "released"   the ticket held the lock; it went to the next ticket or became free
--   status "left"       the ticket was queued and is not any more
--   status "kept"       the ticket holds a lease a later request confirmed; nothing changed
--   status "absent"     the ticket neither holds nor waits; nothing changed
local t, nonce, reason, withdrawn_ms, by = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local R = resource(KEYS, ARGV, 6)

if nonce ~= '' then
  trim_ended(R)
  local until_ms = now_ms + withdrawn_ms
  redis.call('ZADD', R.ended, int(until_ms), 'w:' .. nonce)
  keep_records(R, until_ms)
end

local holder = promote(R)

-- `reply` with the ticket's record as it is now, when it is known.
local function with_record(reply)
  local record = ticket_record(R, t, lease_field(R, 'owner'))
  if record then
    reply[#reply + 1] = 'record'
    reply[#reply + 1] = record
  end
  return reply
end

if holder == t then
  local f = redis.call('HMGET', R.lease, 'claimed', 'nonce')
  if nonce ~= '' and f[1] == '1' and f[2] ~= nonce then
    return with_record({'status', 'kept'})
  end
  if by ~= '' then
    reason = lease_field(R, 'label') == by and 'released' or 'force_released'
  end
  if f[1] == '0' then
    -- Given up, not lapsed: the waiters behind it were not asked for a sign of life.
    redis.call('HDEL', R.tickets, '~handoff')
  end
  end_lease(R, t, reason)
  return with_record({'status', 'released'})
end
if position(R, t) then
  if by ~= '' then
    reason = 'withdrawn'
  end
  dequeue(R, t)
  end_ticket(R, t, reason, nil)
  return with_record({'status', 'left'})
end
return with_record({'status', 'absent'})
