/**
 * Pausing and resuming a stored schedule, as `tasq schedule pause|resume` and the dashboard do it:
 * resuming never runs what was missed while paused; the schedule moves to its first slot after now.
 */
import type { ScheduleRecord } from '../schedule-store.js';
import { advance } from './next-run.js';

/** The schedule as it is stored after pausing (`paused` true) or resuming it at `now`. */
export function withPaused(
  schedule: ScheduleRecord,
  paused: boolean,
  now: number,
  defaultTimeZone = 'UTC',
): ScheduleRecord {
  const updated: ScheduleRecord = { ...schedule, paused };
  if (!paused && schedule.paused && schedule.repeats !== 0 && schedule.nextRunAt < now) {
    const next = advance(schedule, schedule.nextRunAt, now, false, defaultTimeZone);
    if (next.nextRunAt > now) updated.nextRunAt = next.nextRunAt;
  }
  return updated;
}
