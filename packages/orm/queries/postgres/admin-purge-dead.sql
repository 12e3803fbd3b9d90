-- admin-purge-dead: delete every dead letter of a queue, or of one task in it.
-- Inputs:  $queue text, $task text (NULL = every task)
-- Outputs: row count = dead letters deleted.
DELETE FROM {{packages}}
WHERE queue = $queue::text AND dead_at IS NOT NULL
  AND ($task::text IS NULL OR task = $task::text)
