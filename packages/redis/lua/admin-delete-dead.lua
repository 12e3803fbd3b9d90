--[[
admin delete dead: delete dead letters of one queue by id (live packages are never touched).

KEYS[1] dead-at   KEYS[2] dead (list kept before dead-at existed)   KEYS[3] job-ids
ARGV[1] job key prefix "<prefix>:{<queue>}:job:"
ARGV[2..] ids

Returns: the ids deleted.
Error codes: none.
]]
local prefix = ARGV[1]
migrate_dead(KEYS[2], KEYS[1], prefix)
local out = {}
for at = 2, #ARGV do
  local id = ARGV[at]
  if redis.call('ZREM', KEYS[1], id) == 1 then
    forget(prefix, KEYS[3], id)
    out[#out + 1] = id
  end
end
return out
