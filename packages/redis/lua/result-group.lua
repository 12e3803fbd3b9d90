--[[
result group: encoded results of one group, ordered by group index then id. Members whose result
expired (time to live) are dropped on the way.

KEYS[1] group sorted set "<prefix>:{results}:group:<group>" (score = group index)
ARGV[1] result key prefix "<prefix>:{results}:result:"

Returns: { data, data, ... }
Error codes: none.
]]
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local data = redis.call('HGET', ARGV[1] .. id, 'data')
  if data then
    out[#out + 1] = data
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
