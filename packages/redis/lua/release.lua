--[[
release: give a delivery back, deliverable again now (behind the ready packages of its priority)
or after a delay.

KEYS[1] reserved  sorted set: id -> lease deadline
KEYS[2] ready     sorted set: id -> (9 - priority) * 2^44 + sequence
KEYS[3] delayed   sorted set: id -> due time
KEYS[4] wake      list of wake-up tokens
KEYS[5] sequence  counter giving FIFO order within a priority
KEYS[6] job hash  "<prefix>:{<queue>}:job:<id>"
ARGV[1] id
ARGV[2] lease token (the delivery count the delivery was given)
ARGV[3] now (epoch ms; '' = the Redis server's clock, read with TIME)
ARGV[4] delay in ms (0 = ready now)

Returns: 1 when released; 0 when the lease moved on (LeaseLostError).
Error codes: none.
]]
local id = ARGV[1]
if not redis.call('ZSCORE', KEYS[1], id) then return 0 end
if redis.call('HGET', KEYS[6], 'deliveries') ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], id)
local delay = tonumber(ARGV[4])
if delay > 0 then
  local now = tonumber(ARGV[3])
  if not now then
    local time = redis.call('TIME')
    now = time[1] * 1000 + math.floor(time[2] / 1000)
  end
  redis.call('ZADD', KEYS[3], now + delay, id)
else
  local priority = tonumber(redis.call('HGET', KEYS[6], 'priority')) or 0
  local sequence = redis.call('INCR', KEYS[5])
  redis.call('ZADD', KEYS[2], (9 - priority) * 17592186044416 + sequence, id)
end
if redis.call('LLEN', KEYS[4]) == 0 then
  redis.call('RPUSH', KEYS[4], '1')
end
return 1
