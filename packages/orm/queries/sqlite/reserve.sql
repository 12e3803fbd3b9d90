-- reserve (SQLite): claim up to $max claimable packages of a queue. The broker runs it inside
-- BEGIN IMMEDIATE, so the write lock is taken before the read: two processes never pick the same row,
-- and no transaction has to upgrade a read lock (which WAL would refuse with SQLITE_BUSY_SNAPSHOT).
-- One branch per priority, highest first: each is a pure range scan of the claim index
-- (queue = ?, priority = ?, visible_at <= ?), so delayed or leased rows of a higher priority are never
-- walked over; the compound LIMIT stops reading once $max ids are found.
-- Inputs:  $queue text, $now integer (epoch ms), $max integer, $lease_ms integer, $token text
-- Outputs: one row per claimed package: id, body, deliveries, priority (order not guaranteed).
-- Errors:  none of its own; driver errors are mapped in src/orm-errors.ts.
UPDATE {{packages}}
SET lease_token = $token,
    visible_at = $now + $lease_ms,
    deliveries = deliveries + 1
WHERE id IN (
  SELECT id FROM (SELECT id FROM {{packages}}
                  WHERE queue = $queue AND priority = 9 AND dead_at IS NULL AND visible_at <= $now
                  ORDER BY visible_at, id LIMIT $max)
  UNION ALL
  SELECT id FROM (SELECT id FROM {{packages}}
                  WHERE queue = $queue AND priority = 8 AND dead_at IS NULL AND visible_at <= $now
                  ORDER BY visible_at, id LIMIT $max)
  UNION ALL
  SELECT id FROM (SELECT id FROM {{packages}}
                  WHERE queue = $queue AND priority = 7 AND dead_at IS NULL AND visible_at <= $now
                  ORDER BY visible_at, id LIMIT $max)
  UNION ALL
  SELECT id FROM (SELECT id FROM {{packages}}
                  WHERE queue = $queue AND priority = 6 AND dead_at IS NULL AND visible_at <= $now
                  ORDER BY visible_at, id LIMIT $max)
  UNION ALL
  SELECT id FROM (SELECT id FROM {{packages}}
                  WHERE queue = $queue AND priority = 5 AND dead_at IS NULL AND visible_at <= $now
                  ORDER BY visible_at, id LIMIT $max)
  UNION ALL
  SELECT id FROM (SELECT id FROM {{packages}}
                  WHERE queue = $queue AND priority = 4 AND dead_at IS NULL AND visible_at <= $now
                  ORDER BY visible_at, id LIMIT $max)
  UNION ALL
  SELECT id FROM (SELECT id FROM {{packages}}
                  WHERE queue = $queue AND priority = 3 AND dead_at IS NULL AND visible_at <= $now
                  ORDER BY visible_at, id LIMIT $max)
  UNION ALL
  SELECT id FROM (SELECT id FROM {{packages}}
                  WHERE queue = $queue AND priority = 2 AND dead_at IS NULL AND visible_at <= $now
                  ORDER BY visible_at, id LIMIT $max)
  UNION ALL
  SELECT id FROM (SELECT id FROM {{packages}}
                  WHERE queue = $queue AND priority = 1 AND dead_at IS NULL AND visible_at <= $now
                  ORDER BY visible_at, id LIMIT $max)
  UNION ALL
  SELECT id FROM (SELECT id FROM {{packages}}
                  WHERE queue = $queue AND priority = 0 AND dead_at IS NULL AND visible_at <= $now
                  ORDER BY visible_at, id LIMIT $max)
  LIMIT $max
)
RETURNING id, body, deliveries, priority
