-- admin-list-dead: dead letters of a queue, newest death first, a page at a time: a backward walk of
-- the dead-letter index from the cursor (the last row's dead_at and id).
-- Inputs:  $queue text, $task text (NULL = every task), $before_at bigint and $before_id bigint (both
--          NULL = from the newest), $limit integer
-- Outputs: up to $limit rows of fragments/package-columns.sql, dead_at DESC, id DESC.
SELECT {{> package-columns}}
FROM {{packages}}
WHERE queue = $queue AND dead_at IS NOT NULL
  AND (dead_at, id) < (coalesce($before_at, 9223372036854775807), coalesce($before_id, 9223372036854775807))
  AND ($task IS NULL OR task = $task)
ORDER BY dead_at DESC, id DESC
LIMIT $limit
