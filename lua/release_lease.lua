-- release_lease.lua: the holder gives the lock up; the longest live waiter gets it at once.
-- KEYS and ARGV[1..8]: see _lock_lib.lua (ARGV[2] is unused).
-- Returns {status}:
--   {"released"}   the caller held the lock and no longer does
--   {"not_owner"}  someone else holds it; nothing changed
--   {"not_held"}   nobody holds it; nothing changed
--   {"unknown"}    nobody holds it and a grouped lock has no record (never held, or forgotten)
local holder = promote()
if not holder then
  if K_INFO and redis.call('EXISTS', K_INFO) == 0 then
    return {'unknown'}
  end
  return {'not_held'}
end
if holder ~= owner then
  return {'not_owner'}
end
drop_lease()
hand_off()
return {'released'}
