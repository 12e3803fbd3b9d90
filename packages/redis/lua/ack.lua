--[[
ack: settle a delivery for good; the package is deleted and never delivered again.

KEYS[1] reserved  sorted set: id -> lease deadline
KEYS[2] job hash  "<prefix>:{<queue>}:job:<id>"
ARGV[1] id
ARGV[2] lease token (the delivery count the delivery was given)

Returns: 1 when settled; 0 when the lease moved on (the package is no longer reserved, or it was
delivered again since), which the caller reports as LeaseLostError.
Error codes: none.
]]
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
if redis.call('HGET', KEYS[2], 'deliveries') ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1
