--[[
result delete: drop stored outcomes (and their progress) by id, or every outcome of one group, with
their index entries.

KEYS[1] "<prefix>:{results}:index:status:success", declared so that Redis Cluster routes the call to the
        {results} slot; every other key is built from ARGV[1] and shares that hash tag.
ARGV[1] key base "<prefix>:{results}:"
ARGV[2] 'ids' or 'group'
ARGV[3..] the ids ('ids'), or the group name ('group')

Returns: how many outcomes were deleted.
Error codes: none.
]]
local base = ARGV[1]
local deleted = 0

local function delete(id)
  local key = base .. 'result:' .. id
  redis.call('DEL', base .. 'progress:' .. id)
  local meta = redis.call('HMGET', key, 'status', 'name', 'group')
  if not meta[1] then return end
  redis.call('ZREM', base .. 'index:status:' .. meta[1], id)
  redis.call('ZREM', base .. 'index:status:' .. meta[1] .. ':name:' .. (meta[2] or ''), id)
  if meta[3] and meta[3] ~= '' then
    redis.call('ZREM', base .. 'group:' .. meta[3], id)
  elseif meta[1] == 'success' then
    redis.call('ZREM', base .. 'index:status:success:ungrouped', id)
  end
  redis.call('DEL', key)
  deleted = deleted + 1
end

if ARGV[2] == 'group' then
  local group = base .. 'group:' .. ARGV[3]
  for _, id in ipairs(redis.call('ZRANGE', group, 0, -1)) do delete(id) end
  redis.call('DEL', group)
  redis.call('SREM', base .. 'groups', ARGV[3])
else
  for at = 3, #ARGV do delete(ARGV[at]) end
end
return deleted
