-- due (PostgreSQL schedule store): schedules to run now, earliest first (range scan on the due index).
-- Inputs:  $now bigint, $limit integer
-- Outputs: schedules rows ordered by next_run_at, id.
SELECT * FROM {{schedules}}
WHERE NOT paused AND repeats <> 0 AND next_run_at <= $now::bigint
ORDER BY next_run_at, id
LIMIT $limit::integer
