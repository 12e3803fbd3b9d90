--[[
rate-limit take: take `tokens` from a cluster-wide limit of `count` per `period` ms, or say how long to wait.

Algorithm: GCRA (generic cell rate algorithm), the token bucket kept as one number. Each token costs
`period / count` ms of "credit"; the key holds the theoretical arrival time (TAT): the moment the bucket
would be full again. A take is allowed when the new TAT is at most `period` ms ahead of now, so up to
`count` tokens can be taken at once after an idle period, and never more than `count` per `period` over
time: in any interval of t ms, at most count + t * count / period tokens are granted. These are the
semantics of the cluster's in-process token buckets ("100/s": a burst of 100, then 100 per second), so a
limit moved from one cluster to all of them keeps its meaning. One string per limit, one script call per
take, and the refusal's wait falls out of the same arithmetic.

Time is the Redis server's (TIME), so machines with skewed clocks share one limit. Arithmetic is in ms
relative to now (the numbers stay below `period`), with a 0.002 ms tolerance for the rounding of the
stored TAT, which is written with 1 µs precision.

KEYS[1] the limit's state "<prefix>:rate-limit:<key>" (string: TAT, epoch ms with a fraction)
ARGV[1] count: tokens per period (integer >= 1)
ARGV[2] period in ms (> 0)
ARGV[3] tokens to take (integer, 1 to count)

Returns: {1, 0} when taken (the TAT moves on; the key expires when the bucket would be full again, so an
idle limit leaves nothing behind); {0, retryInMs} when refused (nothing changes; `retryInMs` is the
integer ms, at least 1, after which the same take would be allowed if no one else takes first).
Error codes: none (the caller checks the inputs).
]]
local count = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local tokens = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000

local ahead = 0
local stored = redis.call('GET', KEYS[1])
if stored then
  ahead = tonumber(stored) - now
  if ahead < 0 then ahead = 0 end
end

local wanted = ahead + tokens * (period / count)
local excess = wanted - period
if excess > 0.002 then
  return {0, math.max(1, math.ceil(excess))}
end
redis.call('SET', KEYS[1], string.format('%.3f', now + wanted), 'PX', math.max(1, math.ceil(wanted)))
return {1, 0}
