-- list (PostgreSQL result backend): newest outcomes first, optionally filtered, paged by id.
-- Inputs:  $status text, $name text, $before text (each nullable = no filter), $limit integer
-- Outputs: results rows ordered by id DESC.
-- Columns are named, not *: a prepared statement planned for * fails once a migration adds a column.
SELECT id, name, queue, status, result, error, args, group_name, group_index, attempts, keep_until_claimed,
       enqueued_at, started_at, stopped_at
FROM {{results}}
WHERE ($status::text IS NULL OR status = $status::text)
  AND ($name::text IS NULL OR name = $name::text)
  AND ($before::text IS NULL OR id < $before::text)
ORDER BY id DESC
LIMIT $limit::integer
