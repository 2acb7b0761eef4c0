-- evict: forget one key entirely, for a namespace invalidation (a truncate of its table).
-- KEYS[1] fence key, KEYS[2] lease key, KEYS[3] a value key of this entry
-- ARGV[1] value key prefix ('{key}:v')
-- Returns 1.
--
-- Deletes the value of every schema version the fence lists, KEYS[3], the lease (so a fill of a
-- value loaded before the truncate is refused) and the fence itself: after a truncate a table's
-- row versions may start again from 1, and a kept fence would refuse them. Dropping the fence is
-- safe because every earlier event of the key has been applied when its partition's copy of the
-- namespace invalidation is reached (the events of a key are ordered in one partition).
local fields = redis.call('HKEYS', KEYS[1])
for _, f in ipairs(fields) do
  if string.sub(f, 1, 1) == 's' then
    redis.call('DEL', ARGV[1] .. string.sub(f, 2))
  end
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return 1
