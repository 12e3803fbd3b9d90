--[[
result save: store a batch of outcomes in order. For each: replace a previous result for the same id
(dropping it from the indexes it was in), index it, set its time to live, and publish it to waiters.
The backend gathers the saves issued in one tick (or while the previous batch is in flight) into one
call; it sends each id once per call (the last save of an id wins), so the items are independent.

KEYS[1..n] result hashes "<prefix>:{results}:result:<id>" (fields data, status, name, group), one per item
ARGV[1]    key base "<prefix>:{results}:" (every key below shares the {results} hash tag)
ARGV[2]    time to live in ms (0 = keep until pruned)
ARGV[3..]  six per item, in KEYS order: id, data (the encoded result), status (success | failure),
           task name, group ('' = none), group index ('' = none: sorts after the indexed members)

Indexes (sorted sets, score 0, so ZREVRANGEBYLEX pages newest id first):
  index:all, index:status:<status>, index:name:<name>, index:status:<status>:name:<name>
  group:<group> (score = group index, then id); sets names, groups.
Publishes each item's data on "<base>saved:<id>".
Returns: one number per item, in order: 1 when stored; 0 when its key holds a value that is not a hash
(nothing of that item is written, the other items are). Error codes: none.
]]
local base = ARGV[1]
local ttl = tonumber(ARGV[2])
local out = {}

for i = 1, #KEYS do
  local key = KEYS[i]
  local at = 2 + (i - 1) * 6
  local id, data, status, name, group, position =
    ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], ARGV[at + 5], ARGV[at + 6]
  local kind = redis.call('TYPE', key)['ok']
  if kind ~= 'hash' and kind ~= 'none' then
    out[i] = 0
  else
    local old = redis.call('HMGET', key, 'status', 'name', 'group')
    if old[1] then
      redis.call('ZREM', base .. 'index:status:' .. old[1], id)
      redis.call('ZREM', base .. 'index:name:' .. old[2], id)
      redis.call('ZREM', base .. 'index:status:' .. old[1] .. ':name:' .. old[2], id)
      if old[3] and old[3] ~= '' then redis.call('ZREM', base .. 'group:' .. old[3], id) end
      redis.call('DEL', key)
    end

    redis.call('HSET', key, 'data', data, 'status', status, 'name', name, 'group', group)
    redis.call('ZADD', base .. 'index:all', 0, id)
    redis.call('ZADD', base .. 'index:status:' .. status, 0, id)
    redis.call('ZADD', base .. 'index:name:' .. name, 0, id)
    redis.call('ZADD', base .. 'index:status:' .. status .. ':name:' .. name, 0, id)
    redis.call('SADD', base .. 'names', name)
    if group ~= '' then
      if position == '' then position = '+inf' end
      redis.call('ZADD', base .. 'group:' .. group, position, id)
      redis.call('SADD', base .. 'groups', group)
    end
    if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
    redis.call('PUBLISH', base .. 'saved:' .. id, data)
    out[i] = 1
  end
end
return out
