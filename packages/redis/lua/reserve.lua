--[[
reserve: take up to `max` ready packages of one queue under a lease, oldest first within the
highest priority. Before taking, it moves due delayed packages and packages whose lease ran out
back to ready (at most 1000 of each per call), so expiry needs no background process.

KEYS[1] ready     sorted set: id -> (9 - priority) * 2^44 + sequence
KEYS[2] reserved  sorted set: id -> lease deadline, epoch ms
KEYS[3] delayed   sorted set: id -> due time, epoch ms
KEYS[4] wake      list of wake-up tokens that blocked reservers wait on
KEYS[5] sequence  counter giving FIFO order within a priority
ARGV[1] now (epoch ms; '' = the Redis server's clock, read with TIME)
ARGV[2] lease in ms
ARGV[3] max packages to take
ARGV[4] job key prefix "<prefix>:{<queue>}:job:"

Returns: { waitHintMs, id, deliveries, body, id, deliveries, body, ... }
  waitHintMs is -1 when packages were taken or nothing is scheduled; otherwise the ms until the
  earliest delayed package is due or the earliest lease runs out (how long a waiter may block).
  deliveries is the job's delivery count after this delivery; it is also the lease token.
Error codes: none. A ready id without a job hash (purged meanwhile) is skipped.
]]
local now = tonumber(ARGV[1])
if not now then
  local time = redis.call('TIME')
  now = time[1] * 1000 + math.floor(time[2] / 1000)
end
local lease = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local prefix = ARGV[4]

local function back_to_ready(source)
  local ids = redis.call('ZRANGEBYSCORE', source, '-inf', now, 'LIMIT', 0, 1000)
  if #ids == 0 then return end
  local last = redis.call('INCRBY', KEYS[5], #ids)
  local first = last - #ids
  for i, id in ipairs(ids) do
    local priority = tonumber(redis.call('HGET', prefix .. id, 'priority'))
    if priority then
      redis.call('ZADD', KEYS[1], (9 - priority) * 17592186044416 + first + i, id)
    end
    redis.call('ZREM', source, id)
  end
end

back_to_ready(KEYS[3])
back_to_ready(KEYS[2])

local out = { -1 }
local taken = redis.call('ZPOPMIN', KEYS[1], max)
local deadline = now + lease
for i = 1, #taken, 2 do
  local id = taken[i]
  local key = prefix .. id
  local body = redis.call('HGET', key, 'body')
  if body then
    local deliveries = redis.call('HINCRBY', key, 'deliveries', 1)
    redis.call('ZADD', KEYS[2], deadline, id)
    out[#out + 1] = id
    out[#out + 1] = deliveries
    out[#out + 1] = body
  end
end

if #out > 1 then
  -- Packages left behind: pass a token on so another blocked reserver wakes for them.
  if redis.call('ZCARD', KEYS[1]) > 0 and redis.call('LLEN', KEYS[4]) == 0 then
    redis.call('RPUSH', KEYS[4], '1')
  end
  return out
end

local hint = -1
local first_delayed = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
if first_delayed[2] then hint = tonumber(first_delayed[2]) - now end
local first_lease = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if first_lease[2] then
  local until_expiry = tonumber(first_lease[2]) - now
  if hint < 0 or until_expiry < hint then hint = until_expiry end
end
if hint == 0 then hint = 1 end
out[1] = hint
return out
