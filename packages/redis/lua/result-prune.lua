--[[
result prune: delete successes beyond the save limit, newest kept; failures are never deleted, nor is a
success held for a claim (its hash field `held` names a claim key, "<base>claim:<key>", not taken yet: a
chord member before its chord is settled). Held successes do not count against the limit.

KEYS[1] "<prefix>:{results}:index:status:success", declared so that Redis Cluster routes the call to the
        {results}
        slot; every other key is built from ARGV[1] and shares that hash tag.
ARGV[1] key base "<prefix>:{results}:"
ARGV[2] keep: successes to keep per bucket (0 = delete every success)
ARGV[3] per: 'all' (one bucket), 'name' (one per task name) or 'group' (one per group, and the
        successes without a group as one more bucket, read from index:status:success:ungrouped; the
        first per-group prune adds the ungrouped successes saved before that index existed, once, and
        marks it done in "<base>ungrouped-indexed")

Returns: the number of results deleted.
Error codes: none.
]]
local base, keep, per = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local deleted = 0
-- The ungrouped index exists only once a per-group prune built it (see result-save.lua).
local ungroupedIndexed = redis.call('EXISTS', base .. 'ungrouped-indexed') == 1

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

-- Whether each claim key is taken, asked once per call.
local claimed = {}
local function held_back(held)
  if not held or held == '' then return false end
  if claimed[held] == nil then claimed[held] = redis.call('EXISTS', base .. 'claim:' .. held) == 1 end
  return not claimed[held]
end

-- meta: HMGET status, name, group of the result hash (nil fields when the hash is gone).
local function remove(id, meta)
  local key = base .. 'result:' .. id
  if meta[1] then resultKeys[#resultKeys + 1] = key end
  -- Its progress goes with it (deleting a key that is not there is harmless).
  resultKeys[#resultKeys + 1] = base .. 'progress:' .. id
  local status, name, group = meta[1] or 'success', meta[2], meta[3]
  later(base .. 'index:status:' .. status, id)
  if name then later(base .. 'index:status:' .. status .. ':name:' .. name, id) end
  if group and group ~= '' then
    later(base .. 'group:' .. group, id)
  elseif status == 'success' and ungroupedIndexed then
    later(base .. 'index:status:success:ungrouped', id)
  end
  if meta[1] then deleted = deleted + 1 end
end

-- Ids saved with a claim key are listed in <base>held; those whose claim is taken (or whose result is
-- gone) leave it here. While none is still held back, an index is pruned by reading only the results it
-- deletes; otherwise every success is read, so the held ones can be skipped and not counted.
local heldSet = base .. 'held'
local stillHeld = 0
for _, id in ipairs(redis.call('SMEMBERS', heldSet)) do
  if held_back(redis.call('HGET', base .. 'result:' .. id, 'held')) then
    stillHeld = stillHeld + 1
  else
    redis.call('SREM', heldSet, id)
  end
end

-- Successes of a lexicographic index, newest first; those past the first `keep` that are not held go.
local function prune_index(index)
  if stillHeld == 0 then
    for _, id in ipairs(redis.call('ZREVRANGEBYLEX', index, '+', '-', 'LIMIT', keep, -1)) do
      remove(id, redis.call('HMGET', base .. 'result:' .. id, 'status', 'name', 'group'))
      later(index, id)
    end
    flush()
    return
  end
  local kept = 0
  for _, id in ipairs(redis.call('ZREVRANGEBYLEX', index, '+', '-')) do
    local meta = redis.call('HMGET', base .. 'result:' .. id, 'status', 'name', 'group', 'held')
    if not meta[1] then
      -- Expired (`cached`): only its index entries are left; drop them without counting.
      remove(id, meta)
      later(index, id)
    elseif not held_back(meta[4]) then
      if kept < keep then
        kept = kept + 1
      else
        remove(id, meta)
        later(index, id)
      end
    end
  end
  flush()
end

if per == 'name' then
  for _, name in ipairs(redis.call('SMEMBERS', base .. 'names')) do
    prune_index(base .. 'index:status:success:name:' .. name)
    local successes = base .. 'index:status:success:name:' .. name
    local failures = base .. 'index:status:failure:name:' .. name
    if redis.call('EXISTS', successes, failures) == 0 then redis.call('SREM', base .. 'names', name) end
  end
elseif per == 'group' then
  for _, group in ipairs(redis.call('SMEMBERS', base .. 'groups')) do
    local key = base .. 'group:' .. group
    local successes = {}
    local metas = {}
    for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do
      local meta = redis.call('HMGET', base .. 'result:' .. id, 'status', 'name', 'group', 'held')
      if meta[1] == 'success' and not held_back(meta[4]) then
        successes[#successes + 1] = id
        metas[id] = meta
      elseif not meta[1] then
        redis.call('ZREM', key, id)
      end
    end
    table.sort(successes, function(a, b) return a > b end)
    for i = keep + 1, #successes do remove(successes[i], metas[successes[i]]) end
    flush()
    if redis.call('EXISTS', key) == 0 then redis.call('SREM', base .. 'groups', group) end
  end
  local ungrouped = base .. 'index:status:success:ungrouped'
  if redis.call('EXISTS', base .. 'ungrouped-indexed') == 0 then
    -- Successes saved before the index existed: one pass over every success, the first time only.
    for _, id in ipairs(redis.call('ZRANGE', base .. 'index:status:success', 0, -1)) do
      local group = redis.call('HGET', base .. 'result:' .. id, 'group')
      if group == '' then redis.call('ZADD', ungrouped, 0, id) end
    end
    redis.call('SET', base .. 'ungrouped-indexed', '1')
    ungroupedIndexed = true
  end
  prune_index(ungrouped)
else
  prune_index(base .. 'index:status:success')
end
return deleted
