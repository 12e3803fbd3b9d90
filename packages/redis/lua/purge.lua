--[[
purge: delete every ready and delayed package of a queue (reserved and dead ones stay).

KEYS[1] ready     sorted set
KEYS[2] delayed   sorted set
ARGV[1] job key prefix "<prefix>:{<queue>}:job:"

Returns: the number of packages deleted.
Error codes: none.
]]
local removed = 0
for _, key in ipairs({ KEYS[1], KEYS[2] }) do
  local ids = redis.call('ZRANGE', key, 0, -1)
  for _, id in ipairs(ids) do
    redis.call('DEL', ARGV[1] .. id)
  end
  removed = removed + #ids
  redis.call('DEL', key)
end
return removed
