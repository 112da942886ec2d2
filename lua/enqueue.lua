-- enqueue.lua: a ticket asks for the lock without blocking: it takes the lock if it is free and
-- nobody is queued, else it joins the FIFO queue. Asking again with a ticket already queued or
-- holding answers its state and changes nothing else (a retried request is harmless).
-- KEYS[1..6] (8 for a grouped lock): the resource's keys, see _prelude.lua.
-- ARGV[1] the ticket (an owner token, unique per ticket)
-- ARGV[2] the request's nonce: a withdrawn nonce changes nothing
-- ARGV[3] the ticket's label (e.g. its requestor), "" for none
-- ARGV[4] lease length in ms the ticket asks for
-- ARGV[5] liveness in ms: a queued ticket without a sign of life (poll) for this long is dropped
-- ARGV[6] "1": a gateway waits for this ticket and must claim a hand-off within the claim window
--         (gateway-driven); "0": the client polls, and a hand-off starts its lease at once
-- ARGV[7..12] the resource's settings, see resource() in _prelude.lua
-- Returns name/value pairs, with `record` (see ticket_record() in _prelude.lua) but for
-- "withdrawn":
--   status "acquired", fence, expires_ms, acquired_ms   the ticket holds the lock
--   status "queued", position, ttl_ms       position 1 is next; ttl_ms: the holder's lease left
--   status "withdrawn"                      the request was withdrawn before it ran
local t, nonce, label = ARGV[1], ARGV[2], ARGV[3]
local lease_ms, live_ms, claim = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local R = resource(KEYS, ARGV, 7)

if withdrawn(R, nonce) then
  return {'status', 'withdrawn'}
end

local holder = promote(R)
if holder == t then
  local f = redis.call('HMGET', R.lease, 'fence', 'expires_ms', 'acquired_ms')
  return {'status', 'acquired', 'fence', tonumber(f[1]), 'expires_ms', tonumber(f[2]),
    'acquired_ms', tonumber(f[3]), 'record', ticket_record(R, t, holder)}
end
if not holder then
  local fence, expires = grant(R, t, lease_ms, true, label, nonce, now_ms)
  return {'status', 'acquired', 'fence', fence, 'expires_ms', expires, 'acquired_ms', now_ms,
    'record', ticket_record(R, t, t)}
end

-- Tickets already gone do not count in the new one's position.
prune_gone(R)
if not redis.call('ZSCORE', R.queue, t) then
  trim_ended(R)
  local last = redis.call('ZRANGE', R.queue, -1, -1, 'WITHSCORES')[2]
  redis.call('ZADD', R.queue, (tonumber(last) or 0) + 1, t)
  redis.call('HSET', R.tickets, t .. '|lease', int(lease_ms), t .. '|live', int(live_ms),
    t .. '|claim', claim, t .. '|label', label, t .. '|created', int(now_ms))
  keep_queued(R, t, live_ms)
end
return {'status', 'queued', 'position', position(R, t), 'ttl_ms', lease_ttl(R),
  'record', ticket_record(R, t, holder)}
