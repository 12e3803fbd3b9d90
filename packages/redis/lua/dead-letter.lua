--[[
deadLetter: take a delivery out of the queue for good, keeping its job hash (body, deliveries)
with the reason and time, indexed by death time for operators.

KEYS[1] reserved  sorted set: id -> lease deadline
KEYS[2] dead-at   sorted set: id -> deadAt * 1000 + (sequence mod 1000): newest death has the highest score
KEYS[3] job hash  "<prefix>:{<queue>}:job:<id>"
KEYS[4] stored    sorted set of live packages (administration index)
KEYS[5] sequence  counter (its low digits keep two deaths of one millisecond apart)
ARGV[1] id
ARGV[2] lease token (the delivery count the delivery was given)
ARGV[3] reason
ARGV[4] now (epoch ms; '' = the Redis server's clock, read with TIME)

Returns: 1 when dead-lettered; 0 when the lease moved on (LeaseLostError).
Error codes: none.
]]
local id = ARGV[1]
if not redis.call('ZSCORE', KEYS[1], id) then return 0 end
if redis.call('HGET', KEYS[3], 'deliveries') ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], id)
redis.call('ZREM', KEYS[4], id)
local now = tonumber(ARGV[4])
if not now then
  local time = redis.call('TIME')
  now = time[1] * 1000 + math.floor(time[2] / 1000)
end
redis.call('HSET', KEYS[3], 'reason', ARGV[3], 'deadAt', now)
redis.call('ZADD', KEYS[2], now * 1000 + redis.call('INCR', KEYS[5]) % 1000, id)
return 1
