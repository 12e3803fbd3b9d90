-- size (SQLite): counts of one queue by state.
-- Each count is a range of this queue's entries in a partial index, never a scan of the packages table
-- (a `count(*) FILTER (...) WHERE queue = ?` over the table matches neither partial index and scanned
-- every queue's rows). An exact count still reads every entry of its range: a queue of 1,000,000 ready
-- packages costs 1,000,000 index entries (and rows), whatever the other queues hold.
--   ready            claim index (queue, priority, visible_at) WHERE dead_at IS NULL, one range per
--                    priority (visible_at <= now); SQLite still reads each entry's row (it re-checks
--                    dead_at, a column of the index's WHERE, not of its key).
--   delayed/reserved the same ranges for visible_at > now, one pass, reading lease_token from the row.
-- The priority list makes visible_at part of each range (priority sits between queue and visible_at in
-- the index), so neither count walks the other's entries.
--   dead             dead-letter index (queue, dead_at) WHERE dead_at IS NOT NULL: covering, entries only.
-- One statement, one read transaction: the four counts are consistent with each other.
-- Inputs:  $queue text, $now integer
-- Outputs: one row: ready, delayed, reserved, dead.
SELECT
  ready.total AS ready,
  later.total - later.leased AS delayed,
  later.leased AS reserved,
  dead.total AS dead
FROM
  (SELECT count(*) AS total FROM {{packages}}
   WHERE queue = $queue AND priority IN (9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
     AND dead_at IS NULL AND visible_at <= $now) AS ready,
  (SELECT count(*) AS total, count(lease_token) AS leased FROM {{packages}}
   WHERE queue = $queue AND priority IN (9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
     AND dead_at IS NULL AND visible_at > $now) AS later,
  (SELECT count(*) AS total FROM {{packages}}
   WHERE queue = $queue AND dead_at IS NOT NULL) AS dead
