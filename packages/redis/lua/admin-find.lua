--[[
admin find: the newest package of one queue labelled with a job id, live or dead.

KEYS[1] job-ids   hash: job id -> package id
KEYS[2] ready     KEYS[3] delayed     KEYS[4] reserved
KEYS[5] dead-at   sorted set of dead ids
KEYS[6] stored    sorted set of live packages
KEYS[7] dead      list of dead ids written before dead-at existed
ARGV[1] job key prefix "<prefix>:{<queue>}:job:"
ARGV[2] job id
ARGV[3] now (epoch ms; '' = the server's clock)

Returns: { emptyQueue, record... }: emptyQueue is '1' when the queue holds no key at all (the caller
may forget it), then one record (see append_record) when a package was found.
Error codes: none.
]]
local prefix, job_id = ARGV[1], ARGV[2]
local out = { '0' }
local id = redis.call('HGET', KEYS[1], job_id)
if id then
  local state, visible = live_state(id, KEYS[2], KEYS[3], KEYS[4], clock(ARGV[3]))
  if not state and redis.call('ZSCORE', KEYS[5], id) then state = 'dead' end
  local fields = state and read_fields(prefix, id)
  if fields then
    append_record(out, id, state, visible, fields)
    return out
  end
  -- The entry outlived its package: drop it.
  redis.call('HDEL', KEYS[1], job_id)
end
if redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]) == 0 then
  out[1] = '1'
end
return out
