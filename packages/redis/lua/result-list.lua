--[[
result list: the newest (highest id) results of each index given, paged by id. Index entries whose result
expired (time to live) are dropped on the way. The caller merges the indexes' answers by id: a list of
every status reads both statuses' indexes (Lua's string order follows the server's locale, JavaScript's
does not, so the merge is not done here).

KEYS[1..n] index sorted sets (score 0; members are result ids)
ARGV[1]    result key prefix "<prefix>:{results}:result:"
ARGV[2]    before: only ids sorting before this one ('' = from the newest)
ARGV[3]    limit (per index)

Returns: one array per index, in KEYS order: { id, data, id, data, ... } with at most `limit` results.
Error codes: none.
]]
local prefix, limit = ARGV[1], tonumber(ARGV[3])
local page = math.max(limit, 50)

local function newest(index)
  local out, found = {}, 0
  local upper = '+'
  if ARGV[2] ~= '' then upper = '(' .. ARGV[2] end
  while found < limit do
    local ids = redis.call('ZREVRANGEBYLEX', index, upper, '-', 'LIMIT', 0, page)
    for _, id in ipairs(ids) do
      local data = redis.call('HGET', prefix .. id, 'data')
      if data then
        out[#out + 1] = id
        out[#out + 1] = data
        found = found + 1
        if found >= limit then break end
      else
        redis.call('ZREM', index, id)
      end
    end
    if #ids < page then break end
    upper = '(' .. ids[#ids]
  end
  return out
end

local answers = {}
for i = 1, #KEYS do answers[i] = newest(KEYS[i]) end
return answers
