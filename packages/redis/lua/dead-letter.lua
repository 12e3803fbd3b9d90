--[[
deadLetter: take a delivery out of the queue for good, keeping its job hash (body, deliveries)
with the reason and time, listed on the queue's dead list for operators.

KEYS[1] reserved  sorted set: id -> lease deadline
KEYS[2] dead      list of dead-lettered ids, oldest first
KEYS[3] job hash  "<prefix>:{<queue>}:job:<id>"
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
local now = tonumber(ARGV[4])
if not now then
  local time = redis.call('TIME')
  now = time[1] * 1000 + math.floor(time[2] / 1000)
end
redis.call('HSET', KEYS[3], 'reason', ARGV[3], 'deadAt', now)
redis.call('RPUSH', KEYS[2], id)
return 1
