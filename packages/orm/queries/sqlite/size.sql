-- size (SQLite): counts of one queue by state.
-- Inputs:  $queue text, $now integer
-- Outputs: one row: ready, delayed, reserved, dead.
SELECT
  count(*) FILTER (WHERE dead_at IS NULL AND visible_at <= $now) AS ready,
  count(*) FILTER (WHERE dead_at IS NULL AND lease_token IS NULL AND visible_at > $now) AS delayed,
  count(*) FILTER (WHERE dead_at IS NULL AND lease_token IS NOT NULL AND visible_at > $now) AS reserved,
  count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead
FROM {{packages}}
WHERE queue = $queue
