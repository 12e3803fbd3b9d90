--[[
purge: delete every ready and delayed package of a queue (reserved and dead ones stay).

KEYS[1] ready     sorted set
KEYS[2] delayed   sorted set
KEYS[3] stored    sorted set of live packages (administration index)
KEYS[4] job-ids   hash: job id -> id of the newest package labelled with it
ARGV[1] job key prefix "<prefix>:{<queue>}:job:"

Returns: the number of packages deleted.
Error codes: none.
]]
local removed = 0
for _, key in ipairs({ KEYS[1], KEYS[2] }) do
  local ids = redis.call('ZRANGE', key, 0, -1)
  for _, id in ipairs(ids) do
    local job = ARGV[1] .. id
    local job_id = redis.call('HGET', job, 'jobId')
    if job_id and redis.call('HGET', KEYS[4], job_id) == id then redis.call('HDEL', KEYS[4], job_id) end
    redis.call('ZREM', KEYS[3], id)
    redis.call('DEL', job)
  end
  removed = removed + #ids
  redis.call('DEL', key)
end
return removed
