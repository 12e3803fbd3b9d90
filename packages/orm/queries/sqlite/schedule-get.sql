-- get (SQLite schedule store): one schedule by id.
-- Inputs:  $id text
-- Outputs: zero or one schedules row.
-- Columns are named, not *: a prepared statement planned for * fails once a migration adds a column.
SELECT id, name, task, args, options, kind, cron, minutes, time_zone, repeats, next_run_at, last_run_at,
       paused, created_at
FROM {{schedules}} WHERE id = $id
