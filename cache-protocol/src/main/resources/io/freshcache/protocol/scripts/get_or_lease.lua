-- getOrLease: the miss path of a read, in one round trip.
-- KEYS[1] value key, KEYS[2] lease key
-- ARGV[1] lease token, ARGV[2] lease ms
-- Returns {1, value} (VALUE), {2} (GRANTED: caller holds the lease) or {3, ms left} (BUSY).
-- The value is re-checked here so that a caller who missed just before another caller's fill
-- never takes a fresh lease and loads again.
local v = redis.call('GET', KEYS[1])
if v then
  return {1, v}
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {2}
end
local left = redis.call('PTTL', KEYS[2])
if left < 0 then left = 0 end
return {3, left}
