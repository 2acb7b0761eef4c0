-- notify: publish one near-cache invalidation notice with the channel's next sequence number.
-- KEYS[1] the channel's sequence key; ARGV[1] the channel (same slot as KEYS[1]);
-- ARGV[2] the logical keys to drop, separated by '\n'
-- Returns the sequence number assigned.
-- Increment and publish happen in one script on the channel's slot, so the order of messages on
-- the channel equals the sequence order, and a gap seen by a subscriber means a lost notice.
local seq = redis.call('INCR', KEYS[1])
redis.call('SPUBLISH', ARGV[1], seq .. '\n' .. ARGV[2])
return seq
