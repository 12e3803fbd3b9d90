-- admin-list: live packages of a queue, newest first, a page at a time: a backward walk of
-- packages_list_index (queue, id) from the cursor (an index range: `id <` the cursor, the largest id
-- when there is none), the state and task tested on the rows walked.
-- States as size.sql counts them: ready = visible_at <= now; delayed = no lease and visible_at > now;
-- reserved = a lease and visible_at > now.
-- Inputs:  $queue text, $now bigint, $ready/$delayed/$reserved integer (1 = include that state),
--          $task text (NULL = every task), $before bigint (NULL = from the newest), $limit integer
-- Outputs: up to $limit rows of fragments/package-columns.sql, id DESC.
SELECT {{> package-columns}}
FROM {{packages}}
WHERE queue = $queue AND dead_at IS NULL
  AND id < coalesce($before, 9223372036854775807)
  AND ($task IS NULL OR task = $task)
  AND (($ready = 1 AND visible_at <= $now)
    OR ($delayed = 1 AND lease_token IS NULL AND visible_at > $now)
    OR ($reserved = 1 AND lease_token IS NOT NULL AND visible_at > $now))
ORDER BY id DESC
LIMIT $limit
