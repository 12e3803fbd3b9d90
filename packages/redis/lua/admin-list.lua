--[[
admin list: a page of a queue's live packages, newest stored first, optionally of some states and
one task. Walks the `stored` index down from the cursor: without filters a page reads limit + 1
entries; with filters it reads until the page is full or `budget` entries were read, and then
answers a shorter page whose cursor goes on from there.

KEYS[1] stored    sorted set: id -> store sequence
KEYS[2] ready     KEYS[3] delayed     KEYS[4] reserved
ARGV[1] job key prefix "<prefix>:{<queue>}:job:"
ARGV[2] now (epoch ms; '' = the server's clock)
ARGV[3] limit
ARGV[4] cursor: the store sequence the page starts below ('' = from the newest)
ARGV[5] task ('' = every task)
ARGV[6] states, space-separated ('' = every live state)
ARGV[7] budget: most index entries read in one call

Returns: { next cursor ('' = last page), record, record, ... } (records: see append_record)
Error codes: none.
]]
local prefix, now = ARGV[1], clock(ARGV[2])
local limit, task, budget = tonumber(ARGV[3]), ARGV[5], tonumber(ARGV[7])
local wanted = nil
if ARGV[6] ~= '' then
  wanted = {}
  for state in string.gmatch(ARGV[6], '%S+') do wanted[state] = true end
end
local out = { '' }
local top = ARGV[4] == '' and '+inf' or '(' .. ARGV[4]
local matched, scanned, last_match = 0, 0, nil
while true do
  local chunk = redis.call('ZREVRANGEBYSCORE', KEYS[1], top, '-inf', 'WITHSCORES', 'LIMIT', 0, math.min(limit + 1, 200))
  if #chunk == 0 then return out end
  for i = 1, #chunk, 2 do
    local id, score = chunk[i], chunk[i + 1]
    scanned = scanned + 1
    local state, visible = live_state(id, KEYS[2], KEYS[3], KEYS[4], now)
    if state and (not wanted or wanted[state]) then
      local fields = read_fields(prefix, id)
      if fields and (task == '' or fields[6] == task) then
        if matched == limit then
          out[1] = last_match
          return out
        end
        append_record(out, id, state, visible, fields)
        matched = matched + 1
        last_match = score
      end
    end
    top = '(' .. score
    if scanned >= budget then
      out[1] = score
      return out
    end
  end
end
