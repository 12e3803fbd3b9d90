-- remove (SQLite schedule store): delete one schedule.
-- Inputs:  $id text
-- Outputs: row count 1 when removed, 0 when there was none.
DELETE FROM {{schedules}} WHERE id = $id
