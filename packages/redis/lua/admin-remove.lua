--[[
admin remove: delete the ready or delayed package of one queue labelled with a job id; a reserved
or dead one stays.

KEYS[1] job-ids   KEYS[2] ready   KEYS[3] delayed   KEYS[4] stored
ARGV[1] job key prefix "<prefix>:{<queue>}:job:"
ARGV[2] job id

Returns: 1 when removed, 0 when there was none to remove.
Error codes: none.
]]
local prefix = ARGV[1]
local id = redis.call('HGET', KEYS[1], ARGV[2])
if not id then return 0 end
if redis.call('ZREM', KEYS[2], id) == 0 and redis.call('ZREM', KEYS[3], id) == 0 then return 0 end
redis.call('ZREM', KEYS[4], id)
forget(prefix, KEYS[1], id)
return 1
