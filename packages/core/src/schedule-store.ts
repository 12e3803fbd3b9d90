/**
 * The schedule store contract: schedules as data, plus the leader lock that lets exactly one cluster
 * run the scheduler at a time. Implemented by the SQL, Redis, Mongo and memory stores.
 */

/** Every kind of schedule, in the order the docs list them. */
export const SCHEDULE_KINDS = [
  'once',
  'minutes',
  'hourly',
  'daily',
  'weekly',
  'biweekly',
  'monthly',
  'bimonthly',
  'quarterly',
  'yearly',
  'cron',
] as const;

export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

export interface ScheduleRecord {
  /** Stable id (also the unique human-chosen name's key). */
  id: string;
  /** Unique, human-chosen name ("nightly-report"). */
  name: string;
  /** Task name to enqueue. */
  task: string;
  args: unknown[];
  /** Enqueue options for each run (queue, priority, timeout...). */
  options: Record<string, unknown>;
  kind: ScheduleKind;
  /** For kind `cron`: five or six fields (seconds first when six). */
  cron?: string;
  /** For kind `minutes`: the interval. */
  minutes?: number;
  /** IANA zone the schedule's wall-clock rules are read in; default: the configuration's `timeZone`. */
  timeZone?: string;
  /** Runs left: -1 = forever. A schedule at 0 is finished and never due. */
  repeats: number;
  /** Epoch ms of the next slot. */
  nextRunAt: number;
  lastRunAt?: number;
  paused: boolean;
  createdAt: number;
}

export interface ScheduleStore {
  readonly name: string;
  /** Create or replace by id. */
  save(schedule: ScheduleRecord): Promise<void>;
  get(id: string): Promise<ScheduleRecord | undefined>;
  list(): Promise<ScheduleRecord[]>;
  /** True when something was removed. */
  remove(id: string): Promise<boolean>;
  /** Schedules not paused, with repeats left, whose `nextRunAt <= now`, earliest first. */
  due(now: number, limit: number): Promise<ScheduleRecord[]>;
  /**
   * Compare-and-set: move schedule `id` from slot `slotAt` to `next`, only if its `nextRunAt` is still
   * `slotAt`. Returns false (and changes nothing) when another scheduler already recorded that slot.
   * This is what makes a slot run once with several clusters racing.
   */
  recordRun(
    id: string,
    slotAt: number,
    next: { nextRunAt: number; repeats: number; lastRunAt: number },
  ): Promise<boolean>;
  /** Take or renew the named lock for `owner` for `ttlMs`. True while `owner` holds it. */
  acquireLeadership(lock: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Give the lock up if `owner` holds it. */
  releaseLeadership(lock: string, owner: string): Promise<void>;
  close(): Promise<void>;
}
