--[[
size: count a queue's packages per state as a reserver would see them now: delayed packages that
are due and reserved packages whose lease ran out count as ready. Read-only.

KEYS[1] ready     sorted set
KEYS[2] delayed   sorted set: id -> due time
KEYS[3] reserved  sorted set: id -> lease deadline
KEYS[4] dead      list of dead ids written before dead-at existed
KEYS[5] dead-at   sorted set of dead ids by death time
ARGV[1] now (epoch ms; '' = the Redis server's clock, read with TIME)

Returns: { ready, delayed, reserved, dead }
Error codes: none.
]]
local now = tonumber(ARGV[1])
if not now then
  local time = redis.call('TIME')
  now = time[1] * 1000 + math.floor(time[2] / 1000)
end
local due = redis.call('ZCOUNT', KEYS[2], '-inf', now)
local expired = redis.call('ZCOUNT', KEYS[3], '-inf', now)
return {
  redis.call('ZCARD', KEYS[1]) + due + expired,
  redis.call('ZCARD', KEYS[2]) - due,
  redis.call('ZCARD', KEYS[3]) - expired,
  redis.call('LLEN', KEYS[4]) + redis.call('ZCARD', KEYS[5]),
}
