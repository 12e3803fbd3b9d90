--[[
leader release: give the named lock up, only if `owner` holds it (never someone else's lock).

KEYS[1] lock "<prefix>:{schedules}:lock:<name>"
ARGV[1] owner token

Returns: 1 when released; 0 when `owner` did not hold it.
Error codes: none.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
