-- admin-trim-dead-count: delete the dead letters of a queue beyond the newest $keep (by death time).
-- Inputs:  $queue text, $keep integer
-- Outputs: row count = dead letters deleted.
DELETE FROM {{packages}}
WHERE id IN (
  SELECT id FROM {{packages}}
  WHERE queue = $queue AND dead_at IS NOT NULL
  ORDER BY dead_at DESC, id DESC
  LIMIT -1 OFFSET $keep
)
