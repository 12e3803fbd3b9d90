-- admin-delete-dead: delete one dead letter (never a live package).
-- Inputs:  $id bigint
-- Outputs: row count 1 when deleted.
DELETE FROM {{packages}}
WHERE id = $id AND dead_at IS NOT NULL
