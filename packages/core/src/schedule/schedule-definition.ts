/**
 * Turning what a user asks for (`tasq.schedule(report, ['weekly'], { cron: '0 8 * * mon', timeZone:
 * 'Europe/Berlin' })`) into a checked ScheduleRecord, with its first run computed.
 */
import { InvalidArgumentError } from '../errors.js';
import { uuidv7 } from '../ids.js';
import { SCHEDULE_KINDS, type ScheduleKind, type ScheduleRecord } from '../schedule-store.js';
import { parseCron } from './cron.js';
import { firstSlot } from './next-run.js';
import { assertTimeZone } from './time-zone.js';

export interface ScheduleOptions {
  /** Unique name; default: the task name plus a short id. */
  name?: string;
  /** A cron expression (5 fields, or 6 with seconds first). Implies kind `cron`. */
  cron?: string;
  /** The kind when not cron: once, minutes, hourly, daily, weekly, biweekly, monthly, bimonthly, quarterly, yearly. */
  kind?: ScheduleKind;
  /** For kind `minutes`: the interval. */
  minutes?: number;
  /** IANA zone for wall-clock rules; default: the configuration's timeZone. */
  timeZone?: string;
  /** Runs in total; -1 (default) forever. */
  repeats?: number;
  /** First run (kinds other than cron); default now. */
  start?: Date | number;
  paused?: boolean;
  /** Enqueue options for every run: queue, priority, timeout... */
  job?: Record<string, unknown>;
}

export function defineSchedule(
  task: string,
  args: readonly unknown[],
  options: ScheduleOptions,
  now: number,
  defaultTimeZone = 'UTC',
): ScheduleRecord {
  const kind: ScheduleKind = options.cron !== undefined ? 'cron' : (options.kind ?? 'once');
  if (!SCHEDULE_KINDS.includes(kind))
    throw new InvalidArgumentError(`unknown schedule kind "${kind}" (one of ${SCHEDULE_KINDS.join(', ')})`);
  if (options.kind !== undefined && options.kind !== 'cron' && options.cron !== undefined) {
    throw new InvalidArgumentError(
      `a schedule is either kind "${options.kind}" or a cron expression, not both`,
    );
  }
  if (kind === 'cron') parseCron(options.cron!);
  if (kind === 'minutes' && !(Number.isInteger(options.minutes) && options.minutes! > 0)) {
    throw new InvalidArgumentError('kind "minutes" needs `minutes`: a positive whole number');
  }
  const timeZone = options.timeZone ?? defaultTimeZone;
  assertTimeZone(timeZone);
  const repeats = options.repeats ?? (kind === 'once' ? 1 : -1);
  if (!Number.isInteger(repeats) || repeats === 0 || repeats < -1) {
    throw new InvalidArgumentError('repeats must be -1 (forever) or a positive whole number');
  }
  const id = uuidv7(now);
  const rule = { kind, cron: options.cron, minutes: options.minutes, timeZone };
  const start =
    options.start === undefined
      ? undefined
      : typeof options.start === 'number'
        ? options.start
        : options.start.getTime();
  if (start !== undefined && kind === 'cron')
    throw new InvalidArgumentError('`start` does not apply to cron schedules');
  return {
    id,
    name: options.name ?? `${task}-${id.slice(-8)}`,
    task,
    args: [...args],
    options: options.job ?? {},
    kind,
    ...(options.cron !== undefined ? { cron: options.cron } : {}),
    ...(options.minutes !== undefined ? { minutes: options.minutes } : {}),
    timeZone,
    repeats,
    nextRunAt: start ?? firstSlot(rule, now, defaultTimeZone),
    paused: options.paused ?? false,
    createdAt: now,
  };
}
