--[[
enqueue: store packages on one queue, ready now or delayed.

KEYS[1] ready     sorted set: id -> (9 - priority) * 2^44 + sequence (lowest score is reserved first)
KEYS[2] delayed   sorted set: id -> due time, epoch ms
KEYS[3] wake      list of wake-up tokens that blocked reservers wait on
KEYS[4] sequence  counter giving FIFO order within a priority
ARGV[1] now (epoch ms; '' = the Redis server's clock, read with TIME)
ARGV[2] delay in ms (0 = ready now)
ARGV[3] priority 0..9
ARGV[4] job key prefix "<prefix>:{<queue>}:job:" (job hashes share the queue's hash tag, so one slot)
ARGV[5..] id, body, id, body, ...

Returns: the number of packages stored.
Error codes: none.
]]
local delay = tonumber(ARGV[2])
local priority = tonumber(ARGV[3])
local prefix = ARGV[4]
local count = (#ARGV - 4) / 2

if delay > 0 then
  -- Only a delay needs the time (the server clock unless the caller gave one).
  local now = tonumber(ARGV[1])
  if not now then
    local time = redis.call('TIME')
    now = time[1] * 1000 + math.floor(time[2] / 1000)
  end
  local due = now + delay
  for i = 0, count - 1 do
    local id = ARGV[5 + i * 2]
    redis.call('HSET', prefix .. id, 'body', ARGV[6 + i * 2], 'priority', priority)
    redis.call('ZADD', KEYS[2], due, id)
  end
else
  local last = redis.call('INCRBY', KEYS[4], count)
  local base = (9 - priority) * 17592186044416 + last - count
  for i = 0, count - 1 do
    local id = ARGV[5 + i * 2]
    redis.call('HSET', prefix .. id, 'body', ARGV[6 + i * 2], 'priority', priority)
    redis.call('ZADD', KEYS[1], base + i + 1, id)
  end
end

-- One token is enough: a reserver that leaves packages behind passes a token on (see reserve.lua).
-- A delayed package also wakes a waiter, so it can shorten its wait to the new due time.
if redis.call('LLEN', KEYS[3]) == 0 then
  redis.call('RPUSH', KEYS[3], '1')
end
return count
