-- next-visible (SQLite): when anything in the queue next becomes claimable (a delay passing or a
-- lease expiring): the timer an idle reserve sleeps on besides its wake-ups. One branch per priority, each
-- the first entry of a claim-index range (queue = ?, priority = ?), so ten index lookups at any depth.
-- Inputs:  $queue text
-- Outputs: one row: next (epoch ms, or NULL when the queue holds nothing live).
SELECT min(per_priority.next) AS next FROM (
  SELECT min(visible_at) AS next FROM {{packages}} WHERE queue = $queue AND priority = 9 AND dead_at IS NULL
  UNION ALL
  SELECT min(visible_at) AS next FROM {{packages}} WHERE queue = $queue AND priority = 8 AND dead_at IS NULL
  UNION ALL
  SELECT min(visible_at) AS next FROM {{packages}} WHERE queue = $queue AND priority = 7 AND dead_at IS NULL
  UNION ALL
  SELECT min(visible_at) AS next FROM {{packages}} WHERE queue = $queue AND priority = 6 AND dead_at IS NULL
  UNION ALL
  SELECT min(visible_at) AS next FROM {{packages}} WHERE queue = $queue AND priority = 5 AND dead_at IS NULL
  UNION ALL
  SELECT min(visible_at) AS next FROM {{packages}} WHERE queue = $queue AND priority = 4 AND dead_at IS NULL
  UNION ALL
  SELECT min(visible_at) AS next FROM {{packages}} WHERE queue = $queue AND priority = 3 AND dead_at IS NULL
  UNION ALL
  SELECT min(visible_at) AS next FROM {{packages}} WHERE queue = $queue AND priority = 2 AND dead_at IS NULL
  UNION ALL
  SELECT min(visible_at) AS next FROM {{packages}} WHERE queue = $queue AND priority = 1 AND dead_at IS NULL
  UNION ALL
  SELECT min(visible_at) AS next FROM {{packages}} WHERE queue = $queue AND priority = 0 AND dead_at IS NULL
) AS per_priority
