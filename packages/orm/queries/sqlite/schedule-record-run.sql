-- recordRun (SQLite schedule store): compare-and-set the slot, so one scheduler records it.
-- Inputs:  $id text, $slot_at integer, $next_run_at integer, $repeats integer, $last_run_at integer
-- Outputs: row count 1 when recorded; 0 when another scheduler already moved the slot.
UPDATE {{schedules}}
SET next_run_at = $next_run_at, repeats = $repeats, last_run_at = $last_run_at
WHERE id = $id AND next_run_at = $slot_at
