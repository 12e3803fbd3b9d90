--[[
admin list dead: a page of a queue's dead letters, newest death first, optionally of one task.
Without a task a page reads limit + 1 index entries; with one it reads until the page is full or
`budget` entries were read, and then answers a shorter page whose cursor goes on from there.

KEYS[1] dead-at   sorted set: id -> deadAt * 1000 + (sequence mod 1000)
KEYS[2] dead      list of dead ids written before dead-at existed (moved into dead-at first)
ARGV[1] job key prefix "<prefix>:{<queue>}:job:"
ARGV[2] limit
ARGV[3] cursor: the score the page starts below ('' = from the newest death)
ARGV[4] task ('' = every task)
ARGV[5] budget: most index entries read in one call

Returns: { next cursor ('' = last page), record, record, ... } (records: see append_record)
Error codes: none.
]]
local prefix, limit, task, budget = ARGV[1], tonumber(ARGV[2]), ARGV[4], tonumber(ARGV[5])
migrate_dead(KEYS[2], KEYS[1], prefix)
local out = { '' }
local top = ARGV[3] == '' and '+inf' or '(' .. ARGV[3]
local matched, scanned, last_match = 0, 0, nil
while true do
  local chunk = redis.call('ZREVRANGEBYSCORE', KEYS[1], top, '-inf', 'WITHSCORES', 'LIMIT', 0, math.min(limit + 1, 200))
  if #chunk == 0 then return out end
  for i = 1, #chunk, 2 do
    local id, score = chunk[i], chunk[i + 1]
    scanned = scanned + 1
    local fields = read_fields(prefix, id)
    if fields and (task == '' or fields[6] == task) then
      if matched == limit then
        out[1] = last_match
        return out
      end
      append_record(out, id, 'dead', nil, fields)
      matched = matched + 1
      last_match = score
    end
    top = '(' .. score
    if scanned >= budget then
      out[1] = score
      return out
    end
  end
end
