--[[
ack: settle deliveries of one queue for good; each package is deleted and never delivered again.
The broker gathers the acks issued in the same tick into one call (one round trip for a batch).

KEYS[1]    reserved  sorted set: id -> lease deadline
KEYS[2]    stored    sorted set of live packages (administration index)
KEYS[3]    job-ids   hash: job id -> id of the newest package labelled with it
KEYS[4..]  job hashes "<prefix>:{<queue>}:job:<id>", one per delivery, in ARGV order
ARGV       id, lease token, id, lease token, ... (token = the delivery count the delivery was given)

Returns: one number per delivery, in order: 1 when settled; 0 when its lease moved on (the package is
no longer reserved, or it was delivered again since), which the caller reports as LeaseLostError.
Error codes: none.
]]
local out = {}
local settled = {}
for i = 1, #KEYS - 3 do
  local id = ARGV[i * 2 - 1]
  local key = KEYS[i + 3]
  local fields = redis.call('HMGET', key, 'deliveries', 'jobId')
  if fields[1] == ARGV[i * 2] and redis.call('ZSCORE', KEYS[1], id) then
    local job_id = fields[2]
    if job_id and redis.call('HGET', KEYS[3], job_id) == id then redis.call('HDEL', KEYS[3], job_id) end
    redis.call('DEL', key)
    settled[#settled + 1] = id
    out[i] = 1
  else
    out[i] = 0
  end
end
if #settled > 0 then
  redis.call('ZREM', KEYS[1], unpack(settled))
  redis.call('ZREM', KEYS[2], unpack(settled))
end
return out
