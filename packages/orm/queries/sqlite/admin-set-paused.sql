-- admin-set-paused: set or clear the pause flag of a queue.
-- Inputs:  $queue text, $paused integer (1 or 0), $now bigint
-- Outputs: none.
INSERT INTO {{queue_flags}} (queue, paused, updated_at)
VALUES ($queue, $paused, $now)
ON CONFLICT (queue) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at
