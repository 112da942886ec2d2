-- release_lease.lua: the holder gives the lock up; the longest live waiter gets it at once.
-- KEYS and ARGV[1..8]: see _lock_lib.lua (ARGV[2] is unused).
-- Returns {status}:
--   {"released"}   the caller held the lock and no longer does
--   {"not_owner"}  someone else holds it; nothing changed
--   {"not_held"}   nobody holds it; nothing changed
promote()
local holder = lease_field('owner')
if not holder then
  return {'not_held'}
end
if holder ~= owner then
  return {'not_owner'}
end
drop_lease()
promote()
return {'released'}
