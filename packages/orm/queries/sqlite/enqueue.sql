-- enqueue (SQLite): store one package. The broker runs it once per body inside one BEGIN IMMEDIATE
-- transaction: one lock, one WAL commit for the whole batch, and an in-process prepared statement costs
-- microseconds per row, so a batch of 1,000 is one commit either way.
-- Inputs:  $queue text, $body blob, $job_id text, $task text, $expires_at integer (the label, each
--          NULL when there is none), $priority integer, $visible_at integer (epoch ms), $now integer
-- Outputs: one row: id.
INSERT INTO {{packages}} (queue, body, job_id, task, expires_at, priority, visible_at, enqueued_at)
VALUES ($queue, $body, $job_id, $task, $expires_at, $priority, $visible_at, $now)
RETURNING id
