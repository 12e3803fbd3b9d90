--[[
enqueue: store packages on one queue, ready now or delayed, indexed for administration.

KEYS[1] ready     sorted set: id -> (9 - priority) * 2^44 + sequence (lowest score is reserved first)
KEYS[2] delayed   sorted set: id -> due time, epoch ms
KEYS[3] wake      list of wake-up tokens that blocked reservers wait on
KEYS[4] sequence  counter giving FIFO order within a priority (and the store order)
KEYS[5] stored    sorted set: id -> store sequence (every live package; administration lists it)
KEYS[6] job-ids   hash: job id -> id of the newest package labelled with it
ARGV[1] now (epoch ms; '' = the Redis server's clock, read with TIME)
ARGV[2] delay in ms (0 = ready now)
ARGV[3] priority 0..9
ARGV[4] job key prefix "<prefix>:{<queue>}:job:" (job hashes share the queue's hash tag, so one slot)
ARGV[5] '1' when each package comes with a label, '0' when not
ARGV[6..] unlabelled: id, body, id, body, ...
          labelled:   id, body, job id, task, expiresAt ('' = none), ...

Returns: the number of packages stored.
Error codes: none.
]]
local delay = tonumber(ARGV[2])
local priority = tonumber(ARGV[3])
local prefix = ARGV[4]
local stride = ARGV[5] == '1' and 5 or 2
local count = (#ARGV - 5) / stride

local now = tonumber(ARGV[1])
if not now then
  local time = redis.call('TIME')
  now = time[1] * 1000 + math.floor(time[2] / 1000)
end
local last = redis.call('INCRBY', KEYS[4], count)
local first = last - count
local base = (9 - priority) * 17592186044416 + first
local due = now + delay
-- Index writes gathered into one variadic call each.
local stored, jobs = {}, {}
for i = 0, count - 1 do
  local at = 6 + i * stride
  local id = ARGV[at]
  local sequence = first + i + 1
  if stride == 5 then
    local expires = ARGV[at + 4]
    if expires == '' then
      redis.call('HSET', prefix .. id, 'body', ARGV[at + 1], 'priority', priority, 'enqueuedAt', now,
        'jobId', ARGV[at + 2], 'task', ARGV[at + 3])
    else
      redis.call('HSET', prefix .. id, 'body', ARGV[at + 1], 'priority', priority, 'enqueuedAt', now,
        'jobId', ARGV[at + 2], 'task', ARGV[at + 3], 'expiresAt', expires)
    end
    jobs[#jobs + 1] = ARGV[at + 2]
    jobs[#jobs + 1] = id
  else
    redis.call('HSET', prefix .. id, 'body', ARGV[at + 1], 'priority', priority, 'enqueuedAt', now)
  end
  if delay > 0 then
    redis.call('ZADD', KEYS[2], due, id)
  else
    redis.call('ZADD', KEYS[1], base + i + 1, id)
  end
  stored[#stored + 1] = sequence
  stored[#stored + 1] = id
end
redis.call('ZADD', KEYS[5], unpack(stored))
if #jobs > 0 then redis.call('HSET', KEYS[6], unpack(jobs)) end

-- One token is enough: a reserver that leaves packages behind passes a token on (see reserve.lua).
-- A delayed package also wakes a waiter, so it can shorten its wait to the new due time.
if redis.call('LLEN', KEYS[3]) == 0 then
  redis.call('RPUSH', KEYS[3], '1')
end
return count
