-- size (PostgreSQL): counts of one queue by state.
-- Inputs:  $queue text, $now bigint
-- Outputs: one row: ready, delayed, reserved, dead (bigint, returned as text by the driver).
SELECT
  count(*) FILTER (WHERE dead_at IS NULL AND visible_at <= $now::bigint) AS ready,
  count(*) FILTER (WHERE dead_at IS NULL AND lease_token IS NULL AND visible_at > $now::bigint) AS delayed,
  count(*) FILTER (WHERE dead_at IS NULL AND lease_token IS NOT NULL AND visible_at > $now::bigint) AS reserved,
  count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead
FROM {{packages}}
WHERE queue = $queue::text
