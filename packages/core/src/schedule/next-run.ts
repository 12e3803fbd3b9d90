/**
 * When a schedule runs next. Interval kinds (`minutes`, `hourly`) count real elapsed time; calendar
 * kinds (`daily` … `yearly`) keep the wall-clock time of day in the schedule's zone across DST changes;
 * `cron` matches wall-clock fields in the zone. DST rule: see time-zone.ts. Monthly kinds step from the
 * previous slot and clamp to the month's end (Jan 31 → Feb 28 → Mar 28), as the reference does.
 */
import type { ScheduleKind, ScheduleRecord } from '../schedule-store.js';
import { nextCronWall, parseCron } from './cron.js';
import { fromWall, offsetAt, toWall } from './time-zone.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const DAY_STEPS: Partial<Record<ScheduleKind, number>> = { daily: 1, weekly: 7, biweekly: 14 };
const MONTH_STEPS: Partial<Record<ScheduleKind, number>> = {
  monthly: 1,
  bimonthly: 2,
  quarterly: 3,
  yearly: 12,
};

type Rule = Pick<ScheduleRecord, 'kind' | 'cron' | 'minutes' | 'timeZone'>;

/**
 * The wall-clock time a slot was meant for. Usually its own reading; but a slot moved forward out of a
 * spring-forward gap (02:30 → 03:30) was meant for 02:30, and the next day's run is at 02:30 again.
 */
function intendedWall(slot: number, timeZone: string): number {
  const wall = toWall(slot, timeZone);
  const gap = offsetAt(slot, timeZone) - offsetAt(slot - DAY, timeZone);
  if (gap > 0) {
    const original = wall - gap;
    if (
      toWall(fromWall(original, timeZone), timeZone) !== original &&
      fromWall(original, timeZone) === slot
    ) {
      return original;
    }
  }
  return wall;
}

function addMonths(wall: number, months: number): number {
  const date = new Date(wall);
  const day = date.getUTCDate();
  const target = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  return Date.UTC(
    target.getUTCFullYear(),
    target.getUTCMonth(),
    Math.min(day, lastDay),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
    date.getUTCMilliseconds(),
  );
}

/** The slot after `slot` (an instant), or undefined when the schedule has no further slot (`once`). */
export function slotAfter(rule: Rule, slot: number, defaultTimeZone = 'UTC'): number | undefined {
  const timeZone = rule.timeZone ?? defaultTimeZone;
  switch (rule.kind) {
    case 'once':
      return undefined;
    case 'minutes':
      return slot + (rule.minutes ?? 1) * MINUTE;
    case 'hourly':
      return slot + HOUR;
    case 'cron': {
      if (!rule.cron) throw new TypeError('a cron schedule needs a cron expression');
      const cron = parseCron(rule.cron);
      // Walk wall-clock slots; in a fall-back overlap a wall time's first occurrence can lie before
      // `slot` (when `slot` is in the repeated hour), and such a slot has already had its run.
      for (
        let wall = nextCronWall(cron, toWall(slot, timeZone));
        wall !== undefined;
        wall = nextCronWall(cron, wall)
      ) {
        const instant = fromWall(wall, timeZone);
        if (instant > slot) return instant;
      }
      return undefined;
    }
    default: {
      const days = DAY_STEPS[rule.kind];
      if (days !== undefined) return fromWall(intendedWall(slot, timeZone) + days * DAY, timeZone);
      const months = MONTH_STEPS[rule.kind];
      if (months !== undefined) return fromWall(addMonths(intendedWall(slot, timeZone), months), timeZone);
      throw new TypeError(`unknown schedule kind "${String(rule.kind)}"`);
    }
  }
}

/** The first slot strictly after `now` for a new cron schedule; other kinds start at `now`. */
export function firstSlot(rule: Rule, now: number, defaultTimeZone = 'UTC'): number {
  if (rule.kind === 'cron') {
    const slot = slotAfter(rule, now, defaultTimeZone);
    if (slot === undefined) throw new RangeError(`cron expression "${rule.cron}" never matches`);
    return slot;
  }
  return now;
}

/**
 * Where a schedule goes after running `slot`. With catch-up, the very next slot (missed slots then run
 * one by one, each once); without it, the first slot after `now`, so downtime yields a single run.
 */
export function advance(
  schedule: ScheduleRecord,
  slot: number,
  now: number,
  catchUp: boolean,
  defaultTimeZone = 'UTC',
): { nextRunAt: number; repeats: number; lastRunAt: number } {
  const repeats = schedule.repeats > 0 ? schedule.repeats - 1 : schedule.repeats;
  let next = slotAfter(schedule, slot, defaultTimeZone);
  if (next === undefined) return { nextRunAt: slot, repeats: 0, lastRunAt: slot };
  if (!catchUp && next <= now) {
    const interval =
      schedule.kind === 'minutes' ? (schedule.minutes ?? 1) * MINUTE : schedule.kind === 'hourly' ? HOUR : 0;
    if (interval > 0) {
      next += Math.ceil((now - next + 1) / interval) * interval;
    } else {
      while (next !== undefined && next <= now) next = slotAfter(schedule, next, defaultTimeZone);
      if (next === undefined) return { nextRunAt: slot, repeats: 0, lastRunAt: slot };
    }
  }
  return { nextRunAt: next, repeats, lastRunAt: slot };
}
