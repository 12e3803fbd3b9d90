--[[
admin requeue dead: put dead letters of one queue back, deliverable now, with their delivery count
reset and, when given, a new body. Each id is taken out of dead-at with ZREM first, so when two
callers requeue the same letter only the one whose ZREM removed it requeues it. The package goes back
under a new id (its hash renamed, same slot): the delivery count is also the lease token, so a stale
delivery of its earlier life, whose token the reset count would reach again, can never settle it.

KEYS[1] dead-at   KEYS[2] dead (list kept before dead-at existed)
KEYS[3] ready     KEYS[4] stored     KEYS[5] sequence     KEYS[6] wake     KEYS[7] job-ids
ARGV[1] job key prefix "<prefix>:{<queue>}:job:"
ARGV[2..] id, new id, '1' when a body follows or '0', body ('' when none), ...

Returns: the (earlier) ids requeued.
Error codes: none.
]]
local prefix = ARGV[1]
migrate_dead(KEYS[2], KEYS[1], prefix)
local out = {}
for at = 2, #ARGV, 4 do
  local id, new_id = ARGV[at], ARGV[at + 1]
  local key = prefix .. id
  if redis.call('ZREM', KEYS[1], id) == 1 and redis.call('EXISTS', key) == 1 then
    local new_key = prefix .. new_id
    redis.call('RENAME', key, new_key)
    if ARGV[at + 2] == '1' then redis.call('HSET', new_key, 'body', ARGV[at + 3]) end
    redis.call('HDEL', new_key, 'deliveries', 'reason', 'deadAt')
    local sequence = redis.call('INCR', KEYS[5])
    local priority = tonumber(redis.call('HGET', new_key, 'priority')) or 0
    redis.call('ZADD', KEYS[3], (9 - priority) * 17592186044416 + sequence, new_id)
    redis.call('ZADD', KEYS[4], sequence, new_id)
    local job_id = redis.call('HGET', new_key, 'jobId')
    if job_id then redis.call('HSET', KEYS[7], job_id, new_id) end
    out[#out + 1] = id
  end
end
if #out > 0 and redis.call('LLEN', KEYS[6]) == 0 then redis.call('RPUSH', KEYS[6], '1') end
return out
