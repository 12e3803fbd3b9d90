-- get (SQLite result backend): one outcome by job id.
-- Inputs:  $id text
-- Outputs: zero or one results row.
-- Columns are named, not *: a prepared statement planned for * fails once a migration adds a column.
SELECT id, name, queue, status, result, error, args, group_name, group_index, attempts, keep_until_claimed,
       enqueued_at, started_at, stopped_at
FROM {{results}} WHERE id = $id
