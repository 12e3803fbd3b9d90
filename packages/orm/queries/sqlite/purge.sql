-- purge (SQLite): delete every ready and delayed package of a queue (not held leases, not dead ones).
-- Inputs:  $queue text, $now integer
-- Outputs: row count = packages deleted.
DELETE FROM {{packages}}
WHERE queue = $queue AND dead_at IS NULL AND (lease_token IS NULL OR visible_at <= $now)
