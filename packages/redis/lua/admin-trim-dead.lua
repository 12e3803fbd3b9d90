--[[
admin trim dead: apply a retention to one queue's dead letters: delete those that died more than
maxAgeMs ago, then the oldest beyond the newest maxCount.

KEYS[1] dead-at   KEYS[2] dead (list kept before dead-at existed)   KEYS[3] job-ids
ARGV[1] job key prefix "<prefix>:{<queue>}:job:"
ARGV[2] now (epoch ms; '' = the server's clock)
ARGV[3] maxAgeMs ('' = no age limit)
ARGV[4] maxCount ('' = no count limit)

Returns: how many were deleted.
Error codes: none.
]]
local prefix = ARGV[1]
migrate_dead(KEYS[2], KEYS[1], prefix)
local deleted = 0
local function drop(ids)
  for _, id in ipairs(ids) do
    redis.call('ZREM', KEYS[1], id)
    forget(prefix, KEYS[3], id)
    deleted = deleted + 1
  end
end
if ARGV[3] ~= '' then
  local oldest_kept = (clock(ARGV[2]) - tonumber(ARGV[3])) * 1000
  drop(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. oldest_kept))
end
if ARGV[4] ~= '' then
  local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
  if excess > 0 then drop(redis.call('ZRANGE', KEYS[1], 0, excess - 1)) end
end
return deleted
