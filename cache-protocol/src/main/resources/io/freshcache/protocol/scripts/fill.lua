-- fill: store a loaded value, only while the caller still holds the lease and no newer version
-- is known for the key.
-- KEYS[1] value key, KEYS[2] lease key, KEYS[3] fence key
-- ARGV[1] lease token, ARGV[2] loaded data version (-1: none), ARGV[3] envelope, ARGV[4] ttl ms,
-- ARGV[5] schema field of the fence hash ('s<schema>'), ARGV[6] fence ttl ms
-- Returns 1 (OK), 0 (REJECTED: lease revoked or expired), -1 (REJECTED: fence is newer).
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return 0
end
local loaded = tonumber(ARGV[2])
local fence = tonumber(redis.call('HGET', KEYS[3], 'v') or '-1')
if loaded >= 0 and fence > loaded then
  redis.call('DEL', KEYS[2])
  return -1
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
redis.call('HSET', KEYS[3], ARGV[5], '1')
local fenceTtl = tonumber(ARGV[6])
if redis.call('PTTL', KEYS[3]) < fenceTtl then
  redis.call('PEXPIRE', KEYS[3], fenceTtl)
end
redis.call('DEL', KEYS[2])
return 1
