-- group (PostgreSQL result backend): every outcome of a group in group order.
-- Inputs:  $group_name text
-- Outputs: results rows ordered by group_index, id.
-- Columns are named, not *: a prepared statement planned for * fails once a migration adds a column.
SELECT id, name, queue, status, result, error, args, group_name, group_index, attempts, keep_until_claimed,
       enqueued_at, started_at, stopped_at
FROM {{results}} WHERE group_name = $group_name::text ORDER BY group_index NULLS LAST, id
