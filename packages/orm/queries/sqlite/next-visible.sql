-- next-visible (SQLite): when anything in the queue next becomes claimable (a delay passing or a lease
-- expiring), so an idle reserve can sleep until then instead of a full poll interval.
-- Inputs:  $queue text
-- Outputs: one row: next (integer epoch ms, or NULL when the queue holds nothing live).
SELECT min(visible_at) AS next FROM {{packages}} WHERE queue = $queue AND dead_at IS NULL
