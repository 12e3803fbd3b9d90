--[[
schedule recordRun: compare-and-set. Move a schedule from slot `slotAt` to its next slot only if its
nextRunAt is still `slotAt`, so of several schedulers racing for one slot exactly one records it.

KEYS[1] schedule hash "<prefix>:{schedules}:schedule:<id>" (fields record, nextRunAt, repeats, lastRunAt, paused)
KEYS[2] all       sorted set: id -> nextRunAt
KEYS[3] runnable  sorted set: id -> nextRunAt, only schedules not paused with repeats left
ARGV[1] id
ARGV[2] slotAt (epoch ms, as the decimal string the store wrote)
ARGV[3] next nextRunAt
ARGV[4] next repeats (-1 = forever; 0 = finished)
ARGV[5] lastRunAt

Returns: 1 when recorded; 0 when the schedule is gone or its slot already moved on.
Error codes: none.
]]
local current = redis.call('HGET', KEYS[1], 'nextRunAt')
if not current or current ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'nextRunAt', ARGV[3], 'repeats', ARGV[4], 'lastRunAt', ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
if tonumber(ARGV[4]) == 0 or redis.call('HGET', KEYS[1], 'paused') == '1' then
  redis.call('ZREM', KEYS[3], ARGV[1])
else
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
end
return 1
