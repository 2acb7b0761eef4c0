-- apply: an invalidation, delete or upsert from an event or an explicit client call.
-- KEYS[1] fence key, KEYS[2] lease key, KEYS[3] value key of the upsert's schema (or of the
-- caller's schema for an invalidation; may be any value key of this entry)
-- ARGV[1] op: 'i' invalidate, 'd' delete, 'u' upsert
-- ARGV[2] version (-1: unversioned invalidation, never stale, leaves the fence as it is)
-- ARGV[3] envelope (upsert only), ARGV[4] ttl ms (upsert only), ARGV[5] schema field of KEYS[3]
-- ('s<schema>'), ARGV[6] fence ttl ms, ARGV[7] value key prefix ('{key}:v')
-- ARGV[8] '1' if the event is a row insert (CacheEvent.created), may pass a delete tombstone;
-- anything else or missing (older callers): not an insert
-- Returns 1 (APPLIED) or 0 (STALE: a newer version is already known).
--
-- The fence hash holds 'v' (highest version applied), 'd' = '1' when that version came from a
-- delete (a tombstone), and one 's<schema>' field per schema version that has been filled, so
-- an invalidation reaches the value of every schema in use. Value keys other than KEYS[3] are
-- derived from the fence hash; they share its hash tag and therefore its slot.
--
-- Tombstone: a delete carries the deleted row's last version, so without it an upsert or fill at
-- that same version (a late write event, a lagging replica's read, a retried batch) would cache
-- the deleted row. With 'd' set, an upsert at a version <= 'v' is stale (fill.lua refuses such
-- fills likewise). An insert (ARGV[8] '1') passes the tombstone whatever its version: the row
-- exists again and its versions may have started again at 1, so the fence is reset to the
-- insert's version and 'd' cleared. A version above 'v' from any non-delete op also clears 'd'.
local op = ARGV[1]
local ver = tonumber(ARGV[2])
local created = ARGV[8] == '1'
local fence = tonumber(redis.call('HGET', KEYS[1], 'v') or '-1')
local tomb = redis.call('HGET', KEYS[1], 'd') == '1'
local reset = ver >= 0 and created and tomb
if ver >= 0 and not reset then
  if ver < fence then
    return 0
  end
  if ver == fence and tomb and op == 'u' then
    return 0
  end
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
local ttl = tonumber(ARGV[6])
if op == 'u' then
  redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
  redis.call('HSET', KEYS[1], ARGV[5], '1')
  -- the fence lists this value's schema: it must outlive the value (item 5 of issue 8)
  local valueTtl = tonumber(ARGV[4])
  if valueTtl > ttl then
    ttl = valueTtl
  end
else
  redis.call('DEL', KEYS[3])
end
if ver >= 0 then
  if reset or ver > fence then
    redis.call('HSET', KEYS[1], 'v', ARGV[2])
  end
  if op == 'd' then
    redis.call('HSET', KEYS[1], 'd', '1')
  elseif reset or ver > fence then
    redis.call('HDEL', KEYS[1], 'd')
  end
end
if ver >= 0 or op == 'u' then
  if redis.call('PTTL', KEYS[1]) < ttl then
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
end
return 1
