-- revoke_account.lua: delete an account, so its credential stops working at once, tell every
-- gateway to forget what it cached of it, and hand back the entries of its held-locks index,
-- for the caller to release.
-- KEYS[1] the account's record (hash)
-- KEYS[2] the account's held-locks index (sorted set of lock names)
-- ARGV[1] the credentials channel; ARGV[2] the account id, published on it
-- Returns {"missing"} when there is no such account, else {"revoked", lock name...}.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing'}
end
local held = redis.call('ZRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('PUBLISH', ARGV[1], ARGV[2])
local out = {'revoked'}
for _, ref in ipairs(held) do
  out[#out + 1] = ref
end
return out
