--[[
result list: encoded results of one index, newest (highest id) first, paged by id. Index entries whose
result expired (time to live) are dropped on the way.

KEYS[1] index sorted set (score 0; members are result ids)
ARGV[1] result key prefix "<prefix>:{results}:result:"
ARGV[2] before: only ids sorting before this one ('' = from the newest)
ARGV[3] limit

Returns: { data, data, ... } at most `limit`.
Error codes: none.
]]
local prefix, limit = ARGV[1], tonumber(ARGV[3])
local out = {}
local upper = '+'
if ARGV[2] ~= '' then upper = '(' .. ARGV[2] end
local page = math.max(limit, 50)
while #out < limit do
  local ids = redis.call('ZREVRANGEBYLEX', KEYS[1], upper, '-', 'LIMIT', 0, page)
  for _, id in ipairs(ids) do
    local data = redis.call('HGET', prefix .. id, 'data')
    if data then
      out[#out + 1] = data
      if #out >= limit then break end
    else
      redis.call('ZREM', KEYS[1], id)
    end
  end
  if #ids < page then break end
  upper = '(' .. ids[#ids]
end
return out
