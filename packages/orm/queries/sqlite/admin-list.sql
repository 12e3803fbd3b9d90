-- admin-list: live packages of a queue, newest first (by the time each became or becomes deliverable:
-- its enqueue time when it was enqueued without a delay, its due time when delayed, its lease end when
-- reserved; ties by id), a page at a time. One branch per priority, each a backward range scan of the
-- claim index (queue, priority, visible_at, id) from the cursor, as the claim reads it forwards: no
-- index of its own, so listing costs the hot path nothing. The outer sort orders at most 10 x $limit
-- rows. The states narrow the visible_at range (ready = (-inf, now]; delayed and reserved = (now, +inf),
-- told apart by the lease token); the cursor's visible_at caps it, so a deep page starts at the cursor.
-- Inputs:  $queue text; $after_at, $until_at bigint (the visible_at range, exclusive and inclusive);
--          $now bigint; $skip_reserved, $skip_delayed integer (1 = leave that state out);
--          $task text (NULL = every task); $before_at, $before_id bigint (the cursor: the last row's
--          visible_at and id, or the largest values for the first page); $limit integer
-- Outputs: up to $limit rows of fragments/package-columns.sql, visible_at DESC, id DESC.
SELECT * FROM (
  SELECT * FROM (SELECT {{> package-columns}} FROM {{packages}}
                 WHERE queue = $queue AND priority = 9 AND dead_at IS NULL
                   AND visible_at > $after_at AND visible_at <= $until_at
                   AND (visible_at, id) < ($before_at, $before_id)
                   AND ($task IS NULL OR task = $task)
                   AND ($skip_reserved = 0 OR lease_token IS NULL OR visible_at <= $now)
                   AND ($skip_delayed = 0 OR lease_token IS NOT NULL OR visible_at <= $now)
                 ORDER BY visible_at DESC, id DESC LIMIT $limit) AS priority_9
  UNION ALL
  SELECT * FROM (SELECT {{> package-columns}} FROM {{packages}}
                 WHERE queue = $queue AND priority = 8 AND dead_at IS NULL
                   AND visible_at > $after_at AND visible_at <= $until_at
                   AND (visible_at, id) < ($before_at, $before_id)
                   AND ($task IS NULL OR task = $task)
                   AND ($skip_reserved = 0 OR lease_token IS NULL OR visible_at <= $now)
                   AND ($skip_delayed = 0 OR lease_token IS NOT NULL OR visible_at <= $now)
                 ORDER BY visible_at DESC, id DESC LIMIT $limit) AS priority_8
  UNION ALL
  SELECT * FROM (SELECT {{> package-columns}} FROM {{packages}}
                 WHERE queue = $queue AND priority = 7 AND dead_at IS NULL
                   AND visible_at > $after_at AND visible_at <= $until_at
                   AND (visible_at, id) < ($before_at, $before_id)
                   AND ($task IS NULL OR task = $task)
                   AND ($skip_reserved = 0 OR lease_token IS NULL OR visible_at <= $now)
                   AND ($skip_delayed = 0 OR lease_token IS NOT NULL OR visible_at <= $now)
                 ORDER BY visible_at DESC, id DESC LIMIT $limit) AS priority_7
  UNION ALL
  SELECT * FROM (SELECT {{> package-columns}} FROM {{packages}}
                 WHERE queue = $queue AND priority = 6 AND dead_at IS NULL
                   AND visible_at > $after_at AND visible_at <= $until_at
                   AND (visible_at, id) < ($before_at, $before_id)
                   AND ($task IS NULL OR task = $task)
                   AND ($skip_reserved = 0 OR lease_token IS NULL OR visible_at <= $now)
                   AND ($skip_delayed = 0 OR lease_token IS NOT NULL OR visible_at <= $now)
                 ORDER BY visible_at DESC, id DESC LIMIT $limit) AS priority_6
  UNION ALL
  SELECT * FROM (SELECT {{> package-columns}} FROM {{packages}}
                 WHERE queue = $queue AND priority = 5 AND dead_at IS NULL
                   AND visible_at > $after_at AND visible_at <= $until_at
                   AND (visible_at, id) < ($before_at, $before_id)
                   AND ($task IS NULL OR task = $task)
                   AND ($skip_reserved = 0 OR lease_token IS NULL OR visible_at <= $now)
                   AND ($skip_delayed = 0 OR lease_token IS NOT NULL OR visible_at <= $now)
                 ORDER BY visible_at DESC, id DESC LIMIT $limit) AS priority_5
  UNION ALL
  SELECT * FROM (SELECT {{> package-columns}} FROM {{packages}}
                 WHERE queue = $queue AND priority = 4 AND dead_at IS NULL
                   AND visible_at > $after_at AND visible_at <= $until_at
                   AND (visible_at, id) < ($before_at, $before_id)
                   AND ($task IS NULL OR task = $task)
                   AND ($skip_reserved = 0 OR lease_token IS NULL OR visible_at <= $now)
                   AND ($skip_delayed = 0 OR lease_token IS NOT NULL OR visible_at <= $now)
                 ORDER BY visible_at DESC, id DESC LIMIT $limit) AS priority_4
  UNION ALL
  SELECT * FROM (SELECT {{> package-columns}} FROM {{packages}}
                 WHERE queue = $queue AND priority = 3 AND dead_at IS NULL
                   AND visible_at > $after_at AND visible_at <= $until_at
                   AND (visible_at, id) < ($before_at, $before_id)
                   AND ($task IS NULL OR task = $task)
                   AND ($skip_reserved = 0 OR lease_token IS NULL OR visible_at <= $now)
                   AND ($skip_delayed = 0 OR lease_token IS NOT NULL OR visible_at <= $now)
                 ORDER BY visible_at DESC, id DESC LIMIT $limit) AS priority_3
  UNION ALL
  SELECT * FROM (SELECT {{> package-columns}} FROM {{packages}}
                 WHERE queue = $queue AND priority = 2 AND dead_at IS NULL
                   AND visible_at > $after_at AND visible_at <= $until_at
                   AND (visible_at, id) < ($before_at, $before_id)
                   AND ($task IS NULL OR task = $task)
                   AND ($skip_reserved = 0 OR lease_token IS NULL OR visible_at <= $now)
                   AND ($skip_delayed = 0 OR lease_token IS NOT NULL OR visible_at <= $now)
                 ORDER BY visible_at DESC, id DESC LIMIT $limit) AS priority_2
  UNION ALL
  SELECT * FROM (SELECT {{> package-columns}} FROM {{packages}}
                 WHERE queue = $queue AND priority = 1 AND dead_at IS NULL
                   AND visible_at > $after_at AND visible_at <= $until_at
                   AND (visible_at, id) < ($before_at, $before_id)
                   AND ($task IS NULL OR task = $task)
                   AND ($skip_reserved = 0 OR lease_token IS NULL OR visible_at <= $now)
                   AND ($skip_delayed = 0 OR lease_token IS NOT NULL OR visible_at <= $now)
                 ORDER BY visible_at DESC, id DESC LIMIT $limit) AS priority_1
  UNION ALL
  SELECT * FROM (SELECT {{> package-columns}} FROM {{packages}}
                 WHERE queue = $queue AND priority = 0 AND dead_at IS NULL
                   AND visible_at > $after_at AND visible_at <= $until_at
                   AND (visible_at, id) < ($before_at, $before_id)
                   AND ($task IS NULL OR task = $task)
                   AND ($skip_reserved = 0 OR lease_token IS NULL OR visible_at <= $now)
                   AND ($skip_delayed = 0 OR lease_token IS NOT NULL OR visible_at <= $now)
                 ORDER BY visible_at DESC, id DESC LIMIT $limit) AS priority_0
) AS page
ORDER BY visible_at DESC, id DESC
LIMIT $limit
