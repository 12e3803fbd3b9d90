-- recordRun (PostgreSQL schedule store): compare-and-set the slot, so one scheduler records it.
-- Inputs:  $id text, $slot_at bigint, $next_run_at bigint, $repeats integer, $last_run_at bigint
-- Outputs: row count 1 when recorded; 0 when another scheduler already moved the slot.
UPDATE {{schedules}}
SET next_run_at = $next_run_at::bigint, repeats = $repeats::integer, last_run_at = $last_run_at::bigint
WHERE id = $id::text AND next_run_at = $slot_at::bigint
