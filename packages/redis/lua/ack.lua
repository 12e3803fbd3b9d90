--[[
ack: settle deliveries of one queue for good; each package is deleted and never delivered again.
The broker gathers the acks issued in the same tick into one call (one round trip for a batch).

KEYS[1]    reserved  sorted set: id -> lease deadline
KEYS[2..]  job hashes "<prefix>:{<queue>}:job:<id>", one per delivery, in ARGV order
ARGV       id, lease token, id, lease token, ... (token = the delivery count the delivery was given)

Returns: one number per delivery, in order: 1 when settled; 0 when its lease moved on (the package is
no longer reserved, or it was delivered again since), which the caller reports as LeaseLostError.
Error codes: none.
]]
local out = {}
for i = 1, #KEYS - 1 do
  local id = ARGV[i * 2 - 1]
  local key = KEYS[i + 1]
  if redis.call('ZSCORE', KEYS[1], id) and redis.call('HGET', key, 'deliveries') == ARGV[i * 2] then
    redis.call('ZREM', KEYS[1], id)
    redis.call('DEL', key)
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
