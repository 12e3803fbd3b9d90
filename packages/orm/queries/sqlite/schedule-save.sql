-- save (SQLite schedule store): create or replace a schedule by id.
-- Inputs:  every schedules column as $<column>; $args and $options are stored-value codec text.
-- Outputs: none. Errors: unique violation on name (another id holds it), mapped by the caller.
INSERT INTO {{schedules}} AS stored
  (id, name, task, args, options, kind, cron, minutes, time_zone, repeats, next_run_at, last_run_at, paused, created_at)
VALUES ($id, $name, $task, $args, $options, $kind, $cron,
        $minutes, $time_zone, $repeats, $next_run_at, $last_run_at,
        $paused, $created_at)
ON CONFLICT (id) DO UPDATE SET
  name = excluded.name, task = excluded.task, args = excluded.args, options = excluded.options,
  kind = excluded.kind, cron = excluded.cron, minutes = excluded.minutes, time_zone = excluded.time_zone,
  repeats = excluded.repeats, next_run_at = excluded.next_run_at, last_run_at = excluded.last_run_at,
  paused = excluded.paused, created_at = excluded.created_at
