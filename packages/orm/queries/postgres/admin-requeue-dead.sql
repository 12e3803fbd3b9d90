-- admin-requeue-dead: put one dead letter back on its queue, deliverable now, its delivery count reset
-- and its body replaced when one is given. The WHERE re-checks dead_at, so of two callers requeueing the
-- same letter at once exactly one changes the row.
-- Consumers waiting on the queue are woken (NOTIFY on $channel).
-- Inputs:  $id bigint, $body bytea (NULL = keep), $now bigint, $channel text
-- Outputs: the row's id and queue when it was requeued; no row otherwise.
WITH requeued AS (
UPDATE {{packages}}
SET dead_at = NULL, dead_reason = NULL, lease_token = NULL, deliveries = 0,
    visible_at = $now::bigint, body = coalesce($body::bytea, body)
WHERE id = $id::bigint AND dead_at IS NOT NULL
RETURNING id, queue
)
SELECT requeued.id, requeued.queue, pg_notify($channel::text, requeued.queue) AS woken FROM requeued
