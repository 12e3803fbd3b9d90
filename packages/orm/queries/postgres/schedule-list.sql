-- list (PostgreSQL schedule store): every schedule, by name.
-- Inputs:  none
-- Outputs: schedules rows ordered by name.
-- Columns are named, not *: a prepared statement planned for * fails once a migration adds a column.
SELECT id, name, task, args, options, kind, cron, minutes, time_zone, repeats, next_run_at, last_run_at,
       paused, created_at
FROM {{schedules}} ORDER BY name
