-- reserve (SQLite): claim up to $max claimable packages of a queue. The broker runs it inside
-- BEGIN IMMEDIATE, so the write lock is taken before the read: two processes never pick the same row,
-- and no transaction has to upgrade a read lock (which WAL would refuse with SQLITE_BUSY_SNAPSHOT).
-- Inputs:  $queue text, $now integer, $max integer, $lease_ms integer, $token text
-- Outputs: one row per claimed package: id, body, deliveries, priority (order not guaranteed).
UPDATE {{packages}}
SET lease_token = $token,
    visible_at = $now + $lease_ms,
    deliveries = deliveries + 1
WHERE id IN (
  SELECT id FROM {{packages}}
  WHERE queue = $queue AND dead_at IS NULL AND visible_at <= $now
  ORDER BY priority DESC, visible_at, id
  LIMIT $max
)
RETURNING id, body, deliveries, priority
