-- create_account.lua: store a new account record, unless one with that id exists.
-- KEYS[1] the account's record (hash)
-- ARGV[1] SHA-256 (hex) of the account's secret; the secret itself is never stored
-- ARGV[2] the account's lifetime in ms, or 0 for none: the record then has `expires_ms` and
--         vanishes at that instant
-- ARGV[3..] field, value, field, value... of the account's settings
-- Returns the creation time (Redis ms), or 0 when the id is taken (nothing written).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local t = redis.call('TIME')
local now_ms = math.floor((tonumber(t[1]) * 1000000 + tonumber(t[2])) / 1000)
redis.call('HSET', KEYS[1], 'secret_sha256', ARGV[1], 'created_ms', string.format('%d', now_ms),
  'rev', '1')
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
local lifetime = tonumber(ARGV[2])
if lifetime > 0 then
  local ends = string.format('%d', now_ms + lifetime)
  redis.call('HSET', KEYS[1], 'expires_ms', ends)
  redis.call('PEXPIREAT', KEYS[1], ends)
end
return now_ms
