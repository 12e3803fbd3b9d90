-- admin-trim-dead-age: delete the dead letters of a queue that died before a time (packages_dead_order).
-- Inputs:  $queue text, $cutoff bigint (epoch ms)
-- Outputs: row count = dead letters deleted.
DELETE FROM {{packages}}
WHERE queue = $queue::text AND dead_at IS NOT NULL AND dead_at < $cutoff::bigint
