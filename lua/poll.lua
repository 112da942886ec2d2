-- poll.lua: a ticket's sign of life, and its claim: a queued ticket stays queued for its
-- liveness from now; a gateway-driven ticket that was handed the lock claims it, and its full
-- lease runs from now (announced on the channel like a hand-off, so the other waiters know
-- when it ends).
-- KEYS[1..6] (8 for a grouped lock): the resource's keys, see _prelude.lua.
-- ARGV[1] the ticket
-- ARGV[2] the request's nonce: the claim records it; a withdrawn nonce changes nothing
-- ARGV[3..8] the resource's settings, see resource() in _prelude.lua
-- Returns name/value pairs, each but "withdrawn" with `record` (see ticket_record() in
-- _prelude.lua) when the ticket is known:
--   status "acquired", fence, expires_ms, acquired_ms, lease_ms   the ticket holds the lock
--   status "queued", position, ttl_ms        position 1 is next; ttl_ms: the holder's lease left
--   status "released", reason                the ticket ended; its record is still kept
--   status "unknown"                         no such ticket (never queued, or forgotten)
--   status "withdrawn"                       the request was withdrawn before it ran
local t, nonce = ARGV[1], ARGV[2]
local R = resource(KEYS, ARGV, 3)

if withdrawn(R, nonce) then
  return {'status', 'withdrawn'}
end

local holder = promote(R)
if holder == t then
  local f = redis.call('HMGET', R.lease, 'claimed', 'lease_ms', 'fence', 'expires_ms',
    'acquired_ms')
  local expires = tonumber(f[4])
  if f[1] == '0' then
    expires = now_ms + tonumber(f[2])
    redis.call('HSET', R.lease, 'claimed', '1', 'nonce', nonce)
    redis.call('HDEL', R.tickets, '~handoff')
    set_expiry(R, expires)
    -- The other waiters learn when the lease they wait behind now ends.
    redis.call('PUBLISH', R.channel, t .. ' ' .. int(expires - now_ms))
  end
  return {'status', 'acquired', 'fence', tonumber(f[3]), 'expires_ms', expires,
    'acquired_ms', tonumber(f[5]), 'lease_ms', tonumber(f[2]),
    'record', ticket_record(R, t, holder)}
end

-- A ticket idle past its liveness is dropped, not revived by a late sign of life.
prune_gone(R)
local at = position(R, t)
if at then
  keep_queued(R, t, tonumber(redis.call('HGET', R.tickets, t .. '|live') or '0'))
  return {'status', 'queued', 'position', at, 'ttl_ms', lease_ttl(R),
    'record', ticket_record(R, t, holder)}
end
local reply = ended_reply(R, t)
local record = ticket_record(R, t, holder)
if record then
  reply[#reply + 1] = 'record'
  reply[#reply + 1] = record
end
return reply
