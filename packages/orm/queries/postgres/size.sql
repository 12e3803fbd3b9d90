-- size (PostgreSQL): counts of one queue by state.
-- Each count is a range of this queue's entries in a partial index, so a small queue's size costs its own
-- rows whatever other queues share the table (a `count(*) FILTER (...) WHERE queue = ?` over the table
-- matches neither partial index and scanned every queue's rows). An exact count still reads every entry
-- of its range: a queue of 1,000,000 ready packages costs 1,000,000 index entries, and where one queue is
-- most of the table the planner may rather read the table for that queue's own count.
--   ready            claim index (queue, priority, visible_at) WHERE dead_at IS NULL, one range per
--                    priority (visible_at <= now): entries only.
--   delayed/reserved the same ranges for visible_at > now, one pass; the lease token is read from the row,
--                    so only the queue's not-yet-visible packages are fetched, never its ready ones.
-- The priority list makes visible_at part of each range (priority sits between queue and visible_at in
-- the index): without it the not-yet-visible count walks all of the queue's entries, and the planner
-- reads the table for a big queue even when hardly any of its packages are delayed.
--   dead             dead-letter index (queue, dead_at[, id]) WHERE dead_at IS NOT NULL: entries only.
-- Sent unnamed (see plannedPerRun in postgres-dialect.ts): a generic plan would price `queue = $1` as an
-- average queue's share of the table and scan it for every queue.
-- One statement, one snapshot: the four counts are consistent with each other.
-- Inputs:  $queue text, $now bigint
-- Outputs: one row: ready, delayed, reserved, dead (bigint, returned as text by the driver).
SELECT
  ready.total AS ready,
  later.total - later.leased AS delayed,
  later.leased AS reserved,
  dead.total AS dead
FROM
  (SELECT count(*) AS total FROM {{packages}}
   WHERE queue = $queue::text AND priority = ANY ('{9,8,7,6,5,4,3,2,1,0}'::smallint[])
     AND dead_at IS NULL AND visible_at <= $now::bigint) AS ready,
  (SELECT count(*) AS total, count(lease_token) AS leased FROM {{packages}}
   WHERE queue = $queue::text AND priority = ANY ('{9,8,7,6,5,4,3,2,1,0}'::smallint[])
     AND dead_at IS NULL AND visible_at > $now::bigint) AS later,
  (SELECT count(*) AS total FROM {{packages}}
   WHERE queue = $queue::text AND dead_at IS NOT NULL) AS dead
