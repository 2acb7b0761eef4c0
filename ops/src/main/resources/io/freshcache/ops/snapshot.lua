-- snapshot: everything Redis holds for one logical key, read atomically (read-only).
-- KEYS[1] fence key, KEYS[2] lease key
-- ARGV[1] value key prefix ('{key}:v'), ARGV[2..] schema versions to read besides those the fence lists
-- Returns {fence HGETALL, fence PTTL, lease token or nil, lease PTTL, {schema, value, PTTL, ...}}
local fence = redis.call('HGETALL', KEYS[1])
local seen = {}
local schemas = {}
for i = 1, #fence, 2 do
  local f = fence[i]
  if string.sub(f, 1, 1) == 's' and not seen[string.sub(f, 2)] then
    seen[string.sub(f, 2)] = true
    table.insert(schemas, string.sub(f, 2))
  end
end
for i = 2, #ARGV do
  if not seen[ARGV[i]] then
    seen[ARGV[i]] = true
    table.insert(schemas, ARGV[i])
  end
end
local values = {}
for _, n in ipairs(schemas) do
  local v = redis.call('GET', ARGV[1] .. n)
  if v then
    table.insert(values, n)
    table.insert(values, v)
    table.insert(values, redis.call('PTTL', ARGV[1] .. n))
  end
end
local lease = redis.call('GET', KEYS[2])
return {fence, redis.call('PTTL', KEYS[1]), lease, redis.call('PTTL', KEYS[2]), values}
