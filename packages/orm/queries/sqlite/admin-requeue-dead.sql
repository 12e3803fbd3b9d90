-- admin-requeue-dead: put one dead letter back on its queue, deliverable now, its delivery count reset
-- and its body replaced when one is given. The WHERE re-checks dead_at, so of two callers requeueing the
-- same letter at once exactly one changes the row.
-- Inputs:  $id bigint, $body blob (NULL = keep), $now bigint
-- Outputs: the row's id and queue when it was requeued; no row otherwise.
UPDATE {{packages}}
SET dead_at = NULL, dead_reason = NULL, lease_token = NULL, deliveries = 0,
    visible_at = $now, body = coalesce($body, body)
WHERE id = $id AND dead_at IS NOT NULL
RETURNING id, queue
