--[[
result save: store one outcome, replace a previous one for the same id (dropping it from the indexes
it was in), index it, set its time to live, and publish it to waiters.

KEYS[1] result hash "<prefix>:{results}:result:<id>" (fields data, status, name, group)
ARGV[1] key base "<prefix>:{results}:" (every key below shares the {results} hash tag)
ARGV[2] id
ARGV[3] data: the encoded result
ARGV[4] status: success | failure
ARGV[5] task name
ARGV[6] group ('' = none)
ARGV[7] group index ('' = none: sorts after the indexed members)
ARGV[8] time to live in ms (0 = keep until pruned)

Indexes (sorted sets, score 0, so ZREVRANGEBYLEX pages newest id first):
  index:all, index:status:<status>, index:name:<name>, index:status:<status>:name:<name>
  group:<group> (score = group index, then id); sets names, groups.
Publishes ARGV[3] on "<base>saved:<id>".
Returns: 1. Error codes: none.
]]
local base, id = ARGV[1], ARGV[2]
local status, name, group = ARGV[4], ARGV[5], ARGV[6]

local old = redis.call('HMGET', KEYS[1], 'status', 'name', 'group')
if old[1] then
  redis.call('ZREM', base .. 'index:status:' .. old[1], id)
  redis.call('ZREM', base .. 'index:name:' .. old[2], id)
  redis.call('ZREM', base .. 'index:status:' .. old[1] .. ':name:' .. old[2], id)
  if old[3] and old[3] ~= '' then redis.call('ZREM', base .. 'group:' .. old[3], id) end
  redis.call('DEL', KEYS[1])
end

redis.call('HSET', KEYS[1], 'data', ARGV[3], 'status', status, 'name', name, 'group', group)
redis.call('ZADD', base .. 'index:all', 0, id)
redis.call('ZADD', base .. 'index:status:' .. status, 0, id)
redis.call('ZADD', base .. 'index:name:' .. name, 0, id)
redis.call('ZADD', base .. 'index:status:' .. status .. ':name:' .. name, 0, id)
redis.call('SADD', base .. 'names', name)
if group ~= '' then
  local position = ARGV[7]
  if position == '' then position = '+inf' end
  redis.call('ZADD', base .. 'group:' .. group, position, id)
  redis.call('SADD', base .. 'groups', group)
end
local ttl = tonumber(ARGV[8])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
redis.call('PUBLISH', base .. 'saved:' .. id, ARGV[3])
return 1
