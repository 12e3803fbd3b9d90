-- next-visible (PostgreSQL): when anything in the queue next becomes claimable (a delay passing or a
-- lease expiring); the timer an idle reserve sleeps on besides NOTIFY.
-- Inputs:  $queue text
-- Outputs: one row: next (bigint epoch ms, or NULL when the queue holds nothing live).
SELECT min(visible_at) AS next FROM {{packages}} WHERE queue = $queue::text AND dead_at IS NULL
