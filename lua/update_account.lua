-- update_account.lua: change an account's settings if nobody changed them since they were read,
-- and tell every gateway to forget what it cached of the account.
-- KEYS[1] the account's record (hash)
-- ARGV[1] the credentials channel; ARGV[2] the account id, published on it
-- ARGV[3] the revision ("rev" field) the caller read
-- ARGV[4..] field, value, field, value... to set
-- Returns "updated", "missing" (no such account) or "conflict" (changed meanwhile; nothing
-- written: read again and retry).
local rev = redis.call('HGET', KEYS[1], 'rev')
if not rev then
  return 'missing'
end
if rev ~= ARGV[3] then
  return 'conflict'
end
for i = 4, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('HINCRBY', KEYS[1], 'rev', 1)
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 'updated'
