-- authenticate.lua: check a presented credential and, if it is good, note the lock the request
-- is about in the account's held-locks index (so revoking the account can release it).
-- KEYS[1] the account's record (hash)
-- KEYS[2] the account's held-locks index (sorted set: lock name -> Redis ms of last use)
-- ARGV[1] SHA-256 (hex) of the presented secret
-- ARGV[2] lock name to note, or "" for none
-- ARGV[3] how long an index entry outlives its last use, in ms (the longest possible lease)
-- Returns the record as field, value, ... (without the secret's hash), or an empty array when the
-- account does not exist or the secret does not match (nothing written then).
local stored = redis.call('HGET', KEYS[1], 'secret_sha256')
if not stored or stored ~= ARGV[1] then
  return {}
end
if ARGV[2] ~= '' then
  local t = redis.call('TIME')
  local now_ms = math.floor((tonumber(t[1]) * 1000000 + tonumber(t[2])) / 1000)
  redis.call('ZADD', KEYS[2], string.format('%d', now_ms), ARGV[2])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.format('%d', now_ms - tonumber(ARGV[3])))
end
local record = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #record, 2 do
  if record[i] ~= 'secret_sha256' then
    out[#out + 1] = record[i]
    out[#out + 1] = record[i + 1]
  end
end
return out
