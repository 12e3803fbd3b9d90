-- save (PostgreSQL result backend): insert or replace one outcome and wake waiters on it.
-- Inputs:  $id, $name, $queue, $status text; $result, $error, $args text (stored-value codec, nullable);
--          $group_name text, $group_index integer (nullable); $attempts integer;
--          $enqueued_at, $started_at, $stopped_at bigint; $channel text (results LISTEN channel)
-- Outputs: one row (the notification).
WITH saved AS (
  INSERT INTO {{results}} AS stored
    (id, name, queue, status, result, error, args, group_name, group_index, attempts, enqueued_at, started_at, stopped_at)
  VALUES ($id::text, $name::text, $queue::text, $status::text, $result::text, $error::text, $args::text,
          $group_name::text, $group_index::integer, $attempts::integer, $enqueued_at::bigint,
          $started_at::bigint, $stopped_at::bigint)
  ON CONFLICT (id) DO UPDATE SET
    name = excluded.name, queue = excluded.queue, status = excluded.status, result = excluded.result,
    error = excluded.error, args = excluded.args, group_name = excluded.group_name,
    group_index = excluded.group_index, attempts = excluded.attempts, enqueued_at = excluded.enqueued_at,
    started_at = excluded.started_at, stopped_at = excluded.stopped_at
  RETURNING id
)
SELECT pg_notify($channel::text, saved.id) FROM saved
