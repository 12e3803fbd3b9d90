--[[
result prune: delete successes beyond the save limit, newest kept; failures are never deleted.

KEYS[1] "<prefix>:{results}:index:all", declared so that Redis Cluster routes the call to the {results}
        slot; every other key is built from ARGV[1] and shares that hash tag.
ARGV[1] key base "<prefix>:{results}:"
ARGV[2] keep: successes to keep per bucket (0 = delete every success)
ARGV[3] per: 'all' (one bucket), 'name' (one per task name) or 'group' (one per group; results
        without a group are left alone)

Returns: the number of results deleted.
Error codes: none.
]]
local base, keep, per = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local deleted = 0

-- Deletions are gathered per key and sent in variadic calls of at most CHUNK members (unpack's limit is
-- near 8,000): pruning thousands of results costs one HMGET each and a few calls in total, instead of
-- seven calls each.
local CHUNK = 1000
local removals, removalOrder, resultKeys = {}, {}, {}
local function later(key, member)
  local list = removals[key]
  if not list then
    list = {}
    removals[key] = list
    removalOrder[#removalOrder + 1] = key
  end
  list[#list + 1] = member
end
local function each_chunk(list, command, key)
  for first = 1, #list, CHUNK do
    local last = math.min(first + CHUNK - 1, #list)
    if key then
      redis.call(command, key, unpack(list, first, last))
    else
      redis.call(command, unpack(list, first, last))
    end
  end
end
local function flush()
  each_chunk(resultKeys, 'DEL')
  for _, key in ipairs(removalOrder) do each_chunk(removals[key], 'ZREM', key) end
  removals, removalOrder, resultKeys = {}, {}, {}
end

local function remove(id)
  local key = base .. 'result:' .. id
  local meta = redis.call('HMGET', key, 'status', 'name', 'group')
  if meta[1] then resultKeys[#resultKeys + 1] = key end
  local status, name, group = meta[1] or 'success', meta[2], meta[3]
  later(base .. 'index:all', id)
  later(base .. 'index:status:' .. status, id)
  if name then
    later(base .. 'index:name:' .. name, id)
    later(base .. 'index:status:' .. status .. ':name:' .. name, id)
  end
  if group and group ~= '' then later(base .. 'group:' .. group, id) end
  if meta[1] then deleted = deleted + 1 end
end

-- Successes of a lexicographic index, newest first; those past `keep` go.
local function prune_index(index)
  local ids = redis.call('ZREVRANGEBYLEX', index, '+', '-', 'LIMIT', keep, -1)
  for _, id in ipairs(ids) do
    remove(id)
    later(index, id)
  end
  flush()
end

if per == 'name' then
  for _, name in ipairs(redis.call('SMEMBERS', base .. 'names')) do
    prune_index(base .. 'index:status:success:name:' .. name)
    if redis.call('EXISTS', base .. 'index:name:' .. name) == 0 then redis.call('SREM', base .. 'names', name) end
  end
elseif per == 'group' then
  for _, group in ipairs(redis.call('SMEMBERS', base .. 'groups')) do
    local key = base .. 'group:' .. group
    local successes = {}
    for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do
      local status = redis.call('HGET', base .. 'result:' .. id, 'status')
      if status == 'success' then
        successes[#successes + 1] = id
      elseif not status then
        redis.call('ZREM', key, id)
      end
    end
    table.sort(successes, function(a, b) return a > b end)
    for i = keep + 1, #successes do remove(successes[i]) end
    flush()
    if redis.call('EXISTS', key) == 0 then redis.call('SREM', base .. 'groups', group) end
  end
else
  prune_index(base .. 'index:status:success')
end
return deleted
