--[[
result claim (claimOnce): take a claim key if nobody holds it; the results held for that key (chord
members, saved with it in their `held` field) get their time to live from now on.

KEYS[1] claim key "<prefix>:{results}:claim:<key>"
KEYS[2] held-by set "<prefix>:{results}:held-by:<key>" (ids saved with this key)
ARGV[1] the claim's own time to live in ms ('' = for good)
ARGV[2] result key prefix "<prefix>:{results}:result:"
ARGV[3] the results' time to live in ms (`cached`; 0 = none)

Returns: 1 when claimed, 0 when the key was already held.
Error codes: none.
]]
local claimed
if ARGV[1] == '' then
  claimed = redis.call('SET', KEYS[1], '1', 'NX')
else
  claimed = redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX')
end
if not claimed then return 0 end
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do redis.call('PEXPIRE', ARGV[2] .. id, ttl) end
end
redis.call('DEL', KEYS[2])
return 1
