-- leave_queue.lua: a waiter gives up (timed out, client gone, gateway stopping). If a hand-off
-- already reached it, that lease is released at once and passed on.
-- KEYS and ARGV[1..8]: see _lock_lib.lua (ARGV[2] is unused).
-- Returns {status}:
--   {"left"}      the caller was taken out of the queue (or was not in it)
--   {"released"}  the caller had been handed the lock; it went to the next waiter or became free
if promote() == owner then
  drop_lease()
  hand_off()
  return {'released'}
end
forget_waiter(owner)
return {'left'}
