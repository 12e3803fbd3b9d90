-- due (SQLite schedule store): schedules to run now, earliest first (range scan on the due index).
-- Inputs:  $now integer, $limit integer
-- Outputs: schedules rows ordered by next_run_at, id.
-- Columns are named, not *: a prepared statement planned for * fails once a migration adds a column.
SELECT id, name, task, args, options, kind, cron, minutes, time_zone, repeats, next_run_at, last_run_at,
       paused, created_at
FROM {{schedules}}
WHERE paused = 0 AND repeats <> 0 AND next_run_at <= $now
ORDER BY next_run_at, id
LIMIT $limit
