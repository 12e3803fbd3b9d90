-- due (SQLite schedule store): schedules to run now, earliest first (range scan on the due index).
-- Inputs:  $now integer, $limit integer
-- Outputs: schedules rows ordered by next_run_at, id.
SELECT * FROM {{schedules}}
WHERE paused = 0 AND repeats <> 0 AND next_run_at <= $now
ORDER BY next_run_at, id
LIMIT $limit
