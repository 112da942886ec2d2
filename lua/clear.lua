-- clear.lua: force-clears a resource: the holder's lease and every queued ticket end (reason
-- "cleared" in their records), and every waiter is woken ("*" on the channel) to learn it.
-- KEYS[1..6] (8 for a grouped lock): the resource's keys, see _prelude.lua.
-- ARGV[1..6] the resource's settings, see resource() in _prelude.lua
-- Returns name/value pairs: status "cleared", count (how many tickets ended)
local reason = 'cleared'
local R = resource(KEYS, ARGV, 1)
local holder = promote(R)

local count = 0
local queued = redis.call('ZRANGE', R.queue, 0, -1)
for _, t in ipairs(queued) do
  dequeue(R, t)
  end_ticket(R, t, reason, nil)
  count = count + 1
end
holder = lease_field(R, 'owner')
redis.call('HDEL', R.tickets, '~handoff')
if holder then
  -- The queue is empty now, so ending the lease hands nothing on.
  end_lease(R, holder, reason)
  count = count + 1
end
redis.call('PUBLISH', R.channel, '*')
return {'status', 'cleared', 'count', count}
