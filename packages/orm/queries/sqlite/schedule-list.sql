-- list (SQLite schedule store): every schedule, by name.
-- Inputs:  none
-- Outputs: schedules rows ordered by name.
SELECT * FROM {{schedules}} ORDER BY name
