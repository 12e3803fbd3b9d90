--[[
admin purge dead: delete every dead letter of one queue, or those of one task.

KEYS[1] dead-at   KEYS[2] dead (list kept before dead-at existed)   KEYS[3] job-ids
ARGV[1] job key prefix "<prefix>:{<queue>}:job:"
ARGV[2] task ('' = every task)

Returns: how many were deleted.
Error codes: none.
]]
local prefix, task = ARGV[1], ARGV[2]
migrate_dead(KEYS[2], KEYS[1], prefix)
local deleted = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if task == '' or redis.call('HGET', prefix .. id, 'task') == task then
    redis.call('ZREM', KEYS[1], id)
    forget(prefix, KEYS[3], id)
    deleted = deleted + 1
  end
end
return deleted
