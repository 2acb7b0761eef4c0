-- fill: store a loaded value, only while the caller still holds the lease and no newer version
-- is known for the key.
-- KEYS[1] value key, KEYS[2] lease key, KEYS[3] fence key
-- ARGV[1] lease token, ARGV[2] loaded data version (-1: none), ARGV[3] envelope, ARGV[4] ttl ms,
-- ARGV[5] schema field of the fence hash ('s<schema>'), ARGV[6] fence ttl ms
-- Returns 1 (OK), 0 (REJECTED: lease revoked or expired), -1 (REJECTED: fence is newer).
-- A fence with a delete tombstone (field 'd', see apply.lua) also refuses a fill at its own
-- version: that version is the deleted row's. The fence is made to live at least as long as the
-- value, since it lists the value's schema for later invalidations.
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return 0
end
local loaded = tonumber(ARGV[2])
if loaded >= 0 then
  local fence = tonumber(redis.call('HGET', KEYS[3], 'v') or '-1')
  if fence > loaded or (fence == loaded and redis.call('HGET', KEYS[3], 'd') == '1') then
    redis.call('DEL', KEYS[2])
    return -1
  end
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
redis.call('HSET', KEYS[3], ARGV[5], '1')
local ttl = tonumber(ARGV[6])
local valueTtl = tonumber(ARGV[4])
if valueTtl > ttl then
  ttl = valueTtl
end
if redis.call('PTTL', KEYS[3]) < ttl then
  redis.call('PEXPIRE', KEYS[3], ttl)
end
redis.call('DEL', KEYS[2])
return 1
