-- save (SQLite result backend): insert or replace one outcome.
-- Inputs:  $id, $name, $queue, $status text; $result, $error, $args text (stored-value codec, nullable);
--          $group_name text, $group_index integer (nullable); $attempts integer;
--          $keep_until_claimed text (the claim key holding a success back from prune, nullable);
--          $enqueued_at, $started_at, $stopped_at integer
--          A failure never replaces a stored success (a job that succeeded, lost its ack and failed when
--          delivered again did succeed): that row is left as it is; every other save replaces the row.
-- Outputs: none.
INSERT INTO {{results}} AS stored
  (id, name, queue, status, result, error, args, group_name, group_index, attempts, keep_until_claimed,
   enqueued_at, started_at, stopped_at)
VALUES ($id, $name, $queue, $status, $result, $error, $args, $group_name, $group_index, $attempts,
        $keep_until_claimed, $enqueued_at, $started_at, $stopped_at)
ON CONFLICT (id) DO UPDATE SET
  name = excluded.name, queue = excluded.queue, status = excluded.status, result = excluded.result,
  error = excluded.error, args = excluded.args, group_name = excluded.group_name,
  group_index = excluded.group_index, attempts = excluded.attempts,
  keep_until_claimed = excluded.keep_until_claimed, enqueued_at = excluded.enqueued_at,
  started_at = excluded.started_at, stopped_at = excluded.stopped_at
WHERE NOT (stored.status = 'success' AND excluded.status = 'failure')
