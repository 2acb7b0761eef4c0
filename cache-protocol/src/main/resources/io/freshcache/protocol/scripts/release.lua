-- release: give up a lease without filling (the loader found nothing, or failed).
-- KEYS[1] lease key; ARGV[1] lease token
-- Returns 1 if this token held the lease and it was deleted, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
