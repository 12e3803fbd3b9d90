--[[
leader acquire: take the named lock for `owner` (SET NX PX), or renew it when `owner` already holds it.

KEYS[1] lock "<prefix>:{schedules}:lock:<name>" (value: the owner token)
ARGV[1] owner token
ARGV[2] time to live in ms

Returns: 1 while `owner` holds the lock (taken or renewed); 0 when another owner holds it.
Error codes: none.
]]
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
