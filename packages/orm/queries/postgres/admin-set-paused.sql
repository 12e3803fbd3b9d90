-- admin-set-paused: set or clear the pause flag of a queue.
-- Inputs:  $queue text, $paused boolean, $now bigint
-- Outputs: none.
INSERT INTO {{queue_flags}} (queue, paused, updated_at)
VALUES ($queue::text, $paused::boolean, $now::bigint)
ON CONFLICT (queue) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at
