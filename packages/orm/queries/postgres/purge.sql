-- purge (PostgreSQL): delete every ready and delayed package of a queue (not held leases, not dead ones).
-- Inputs:  $queue text, $now bigint
-- Outputs: row count = packages deleted.
DELETE FROM {{packages}}
WHERE queue = $queue::text AND dead_at IS NULL AND (lease_token IS NULL OR visible_at <= $now::bigint)
