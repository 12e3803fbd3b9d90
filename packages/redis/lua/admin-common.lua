--[[
admin common: helpers prepended to every admin-*.lua script (redis-scripts.ts joins them before
hashing), so each script stays a single atomic call without copying these lines.

Per queue, besides the keys of the hot path:
  stored     sorted set: id -> store sequence (every live package, newest stored = highest score)
  dead-at    sorted set: id -> deadAt * 1000 + (sequence mod 1000) (dead letters, unique scores)
  job-ids    hash: job id -> id of the newest package labelled with it (live or dead)
  dead       list of dead ids written before dead-at existed; moved into dead-at on first admin use
]]

-- Epoch ms: the caller's clock when given, otherwise the server's.
local function clock(given)
  local now = tonumber(given)
  if not now then
    local time = redis.call('TIME')
    now = time[1] * 1000 + math.floor(time[2] / 1000)
  end
  return now
end

-- The state a reserver would see now: an expired lease or a due delay counts as ready, like size.lua.
-- Returns state, visibleAt; nil when the id is in none of the live sets.
local function live_state(id, ready, delayed, reserved, now)
  local lease = redis.call('ZSCORE', reserved, id)
  if lease then
    lease = tonumber(lease)
    if lease > now then return 'reserved', lease end
    return 'ready', nil
  end
  local due = redis.call('ZSCORE', delayed, id)
  if due then
    due = tonumber(due)
    if due > now then return 'delayed', due end
    return 'ready', nil
  end
  if redis.call('ZSCORE', ready, id) then return 'ready', nil end
  return nil, nil
end

-- The hash fields a record carries, in reply order after id, state and visibleAt.
local FIELDS = { 'body', 'priority', 'deliveries', 'enqueuedAt', 'jobId', 'task', 'expiresAt', 'reason', 'deadAt' }

-- The package's fields (false where absent), or nil when its hash is gone.
local function read_fields(prefix, id)
  local fields = redis.call('HMGET', prefix .. id, unpack(FIELDS))
  if not fields[1] then return nil end
  return fields
end

-- Append one record of 12 values: id, state, visibleAt, then FIELDS ('' for absent ones).
local function append_record(out, id, state, visible, fields)
  out[#out + 1] = id
  out[#out + 1] = state
  out[#out + 1] = visible and tostring(visible) or ''
  for i = 1, #FIELDS do out[#out + 1] = fields[i] or '' end
end

-- Delete a package's hash and its job-id entry when the entry still points at it.
local function forget(prefix, job_ids, id)
  local key = prefix .. id
  local job_id = redis.call('HGET', key, 'jobId')
  if job_id and redis.call('HGET', job_ids, job_id) == id then redis.call('HDEL', job_ids, job_id) end
  redis.call('DEL', key)
end

-- Move dead ids of the list kept before dead-at existed into dead-at (once: the list is deleted).
local function migrate_dead(legacy, dead_at, prefix)
  if redis.call('EXISTS', legacy) == 0 then return end
  for _, id in ipairs(redis.call('LRANGE', legacy, 0, -1)) do
    local at = tonumber(redis.call('HGET', prefix .. id, 'deadAt')) or 0
    redis.call('ZADD', dead_at, at * 1000, id)
  end
  redis.call('DEL', legacy)
end
