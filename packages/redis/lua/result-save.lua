--[[
result save: store a batch of outcomes in order. For each: replace a previous result for the same id
(dropping it from the indexes it was in), index it, set its time to live, and publish it to waiters.
The backend gathers the saves issued in one tick (or while the previous batch is in flight) into one
call; it sends each id once per call (the last save of an id wins), so the items are independent.

KEYS[1..n] result hashes "<prefix>:{results}:result:<id>" (fields data, status, name, group, and held
           when the result has a keepUntilClaimed key), one per item
ARGV[1]    key base "<prefix>:{results}:" (every key below shares the {results} hash tag)
ARGV[2]    time to live in ms (0 = keep until pruned)
ARGV[3..]  seven per item, in KEYS order: id, data (the encoded result), status (success | failure),
           task name, group ('' = none), group index ('' = none: sorts after the indexed members),
           held ('' = none: the claim key prune waits for before it may delete this success)

A failure never replaces a stored success (a job that succeeded, lost its ack and failed when delivered
again did succeed): that item is left as it is, and answers 1 like a stored one.

Indexes (sorted sets, score 0, so ZREVRANGEBYLEX pages newest id first):
  index:status:<status>, index:status:<status>:name:<name> (a list by name alone, or of everything,
  merges the two statuses' indexes; each index a save writes costs the server about 2 µs per result)
  index:status:success:ungrouped (the successes saved without a group: the one bucket per-group pruning
  keeps for them), written only once "<base>ungrouped-indexed" exists: the first per-group prune builds
  the index from the stored successes and sets that flag; a deployment that never prunes per group does
  not pay a third sorted-set entry per success, about 2 µs of server time on save and again on prune)
  group:<group> (score = group index, then id); sets names, groups, held (the ids saved with a
  claim key, so prune knows when it must look for them) and held-by:<key> (those ids per key: a held
  result gets its time to live when its key is claimed, not when it is saved).
Publishes each item's data on "<base>saved:<id>".
Returns: one number per item, in order: 1 when stored; 0 when its key holds a value that is not a hash
(nothing of that item is written, the other items are). Error codes: none.

The index writes of the whole batch are gathered per key and sent as one variadic ZADD / SADD each:
a batch of one task's results costs a few calls in total instead of five per result, which was most of
the server's time per saved result.
]]
local base = ARGV[1]
local ttl = tonumber(ARGV[2])
local out = {}
local ungroupedIndexed = redis.call('EXISTS', base .. 'ungrouped-indexed') == 1

-- Members to add, per index key: { key = { score, member, score, member, ... } }, in first-use order.
local adds, addOrder = {}, {}
local function add(index, score, member)
  local list = adds[index]
  if not list then
    list = {}
    adds[index] = list
    addOrder[#addOrder + 1] = index
  end
  list[#list + 1] = score
  list[#list + 1] = member
end
local names, groups, heldIds = {}, {}, {}

for i = 1, #KEYS do
  local key = KEYS[i]
  local at = 2 + (i - 1) * 7
  local id, data, status, name, group, position, held =
    ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], ARGV[at + 5], ARGV[at + 6], ARGV[at + 7]
  -- pcall: a key holding another type answers WRONGTYPE instead of failing the whole batch.
  -- Saved after its key was claimed (a member run again after the callback): nothing left to hold it for.
  if held ~= '' and redis.call('EXISTS', base .. 'claim:' .. held) == 1 then held = '' end
  local old = redis.pcall('HMGET', key, 'status', 'name', 'group')
  if old['err'] then
    out[i] = 0
  elseif old[1] == 'success' and status == 'failure' then
    out[i] = 1
  else
    if old[1] then
      redis.call('ZREM', base .. 'index:status:' .. old[1], id)
      redis.call('ZREM', base .. 'index:status:' .. old[1] .. ':name:' .. old[2], id)
      if old[3] and old[3] ~= '' then
        redis.call('ZREM', base .. 'group:' .. old[3], id)
      elseif old[1] == 'success' then
        redis.call('ZREM', base .. 'index:status:success:ungrouped', id)
      end
      redis.call('DEL', key)
    end

    if held == '' then
      redis.call('HSET', key, 'data', data, 'status', status, 'name', name, 'group', group)
    else
      redis.call('HSET', key, 'data', data, 'status', status, 'name', name, 'group', group, 'held', held)
      heldIds[#heldIds + 1] = id
      -- Its time to live starts when the claim is taken (result-claim.lua), not now.
      redis.call('SADD', base .. 'held-by:' .. held, id)
    end
    add(base .. 'index:status:' .. status, 0, id)
    add(base .. 'index:status:' .. status .. ':name:' .. name, 0, id)
    names[name] = true
    if group ~= '' then
      if position == '' then position = '+inf' end
      add(base .. 'group:' .. group, position, id)
      groups[group] = true
    elseif status == 'success' and ungroupedIndexed then
      add(base .. 'index:status:success:ungrouped', 0, id)
    end
    if ttl > 0 and held == '' then redis.call('PEXPIRE', key, ttl) end
    redis.call('PUBLISH', base .. 'saved:' .. id, data)
    out[i] = 1
  end
end

for _, index in ipairs(addOrder) do redis.call('ZADD', index, unpack(adds[index])) end
for name in pairs(names) do redis.call('SADD', base .. 'names', name) end
for group in pairs(groups) do redis.call('SADD', base .. 'groups', group) end
if #heldIds > 0 then redis.call('SADD', base .. 'held', unpack(heldIds)) end
return out
