-- apply: an invalidation, delete or upsert from an event or an explicit client call.
-- KEYS[1] fence key, KEYS[2] lease key, KEYS[3] value key of the upsert's schema (or of the
-- caller's schema for an invalidation; may be any value key of this entry)
-- ARGV[1] op: 'i' invalidate, 'd' delete, 'u' upsert
-- ARGV[2] version (-1: unversioned invalidation, never stale, leaves the fence as it is)
-- ARGV[3] envelope (upsert only), ARGV[4] ttl ms (upsert only), ARGV[5] schema field of KEYS[3]
-- ('s<schema>'), ARGV[6] fence ttl ms, ARGV[7] value key prefix ('{key}:v')
-- Returns 1 (APPLIED) or 0 (STALE: a newer version is already known).
--
-- The fence hash holds 'v' (highest version applied) and one 's<schema>' field per schema
-- version that has been filled, so an invalidation reaches the value of every schema in use.
-- Value keys other than KEYS[3] are derived from the fence hash; they share its hash tag and
-- therefore its slot.
local op = ARGV[1]
local ver = tonumber(ARGV[2])
local fence = tonumber(redis.call('HGET', KEYS[1], 'v') or '-1')
if ver >= 0 and ver < fence then
  return 0
end
if op == 'u' then
  local cur = redis.call('GET', KEYS[3])
  if cur and string.len(cur) >= 11 and string.byte(cur, 1) == 1 then
    local curVer = struct.unpack('>i8', cur, 4)
    if curVer > ver then
      return 0
    end
  end
end
local fields = redis.call('HKEYS', KEYS[1])
for _, f in ipairs(fields) do
  if string.sub(f, 1, 1) == 's' and f ~= ARGV[5] then
    redis.call('DEL', ARGV[7] .. string.sub(f, 2))
  end
end
redis.call('DEL', KEYS[2])
if op == 'u' then
  redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
  redis.call('HSET', KEYS[1], ARGV[5], '1')
else
  redis.call('DEL', KEYS[3])
end
if ver >= 0 then
  if ver > fence then
    redis.call('HSET', KEYS[1], 'v', ARGV[2])
  end
  local fenceTtl = tonumber(ARGV[6])
  if redis.call('PTTL', KEYS[1]) < fenceTtl then
    redis.call('PEXPIRE', KEYS[1], fenceTtl)
  end
end
return 1
