-- count_hit.lua: count one hit in a fixed window (a rate limit shared by every gateway).
-- KEYS[1] the window's counter
-- ARGV[1] window length in ms; the counter starts at the first hit and expires with the window
-- Returns {hits in this window including this one, ms until the window ends}.
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  -- A counter left without expiry (should not happen): give it one now.
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {hits, left}
