--[[
extend: move a delivery's lease deadline to `lease` ms from now.

KEYS[1] reserved  sorted set: id -> lease deadline
KEYS[2] job hash  "<prefix>:{<queue>}:job:<id>"
ARGV[1] id
ARGV[2] lease token (the delivery count the delivery was given)
ARGV[3] now (epoch ms; '' = the Redis server's clock, read with TIME)
ARGV[4] lease in ms

Returns: 1 when extended; 0 when the lease moved on (LeaseLostError).
Error codes: none.
]]
local id = ARGV[1]
if not redis.call('ZSCORE', KEYS[1], id) then return 0 end
if redis.call('HGET', KEYS[2], 'deliveries') ~= ARGV[2] then return 0 end
local now = tonumber(ARGV[3])
if not now then
  local time = redis.call('TIME')
  now = time[1] * 1000 + math.floor(time[2] / 1000)
end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[4]), id)
return 1
