/**
 * Schedules in a SQL table, and the scheduler's leader lock as a row with an owner and an expiry, on
 * both dialects. A lock row rather than a PostgreSQL advisory lock: an advisory lock belongs to one
 * server session, and a pooled connection is not a session this store can keep; a row also gives the
 * contract's `ttlMs` semantics (a frozen leader loses the lock when it stops renewing).
 */
import {
  type Clock,
  InvalidArgumentError,
  type ScheduleKind,
  type ScheduleRecord,
  type ScheduleStore,
  systemClock,
} from '@tasq/core/backend';
import type { Row, SqlDialect } from './dialect.js';
import { isUniqueViolation, mapDatabaseError } from './orm-errors.js';
import { decodeStored, encodeStored } from './stored-value.js';

function toSchedule(row: Row): ScheduleRecord {
  const schedule: ScheduleRecord = {
    id: String(row.id),
    name: String(row.name),
    task: String(row.task),
    args: decodeStored(row.args) as unknown[],
    options: decodeStored(row.options) as Record<string, unknown>,
    kind: row.kind as ScheduleKind,
    repeats: Number(row.repeats),
    nextRunAt: Number(row.next_run_at),
    paused: Boolean(row.paused),
    createdAt: Number(row.created_at),
  };
  if (row.cron !== null && row.cron !== undefined) schedule.cron = String(row.cron);
  if (row.minutes !== null && row.minutes !== undefined) schedule.minutes = Number(row.minutes);
  if (row.time_zone !== null && row.time_zone !== undefined) schedule.timeZone = String(row.time_zone);
  if (row.last_run_at !== null && row.last_run_at !== undefined) schedule.lastRunAt = Number(row.last_run_at);
  return schedule;
}

export interface OrmScheduleStoreOptions {
  clock?: Clock;
}

/** Schedules and leader locks in SQL tables. Obtain one with `createOrmScheduleStore(options)` or the plugin. */
export class OrmScheduleStore implements ScheduleStore {
  readonly name: string;
  private readonly clock: Clock;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly dialect: SqlDialect,
    options: OrmScheduleStoreOptions = {},
  ) {
    this.name = dialect.kind;
    this.clock = options.clock ?? systemClock;
  }

  private async run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    if (this.closed) throw new InvalidArgumentError(`the ${this.name} schedule store is closed`);
    try {
      return await work();
    } catch (error) {
      throw mapDatabaseError(error, operation, this.dialect.address);
    }
  }

  /** Create or replace by id. A name held by another id is an `InvalidArgumentError`. */
  async save(schedule: ScheduleRecord): Promise<void> {
    if (!schedule || typeof schedule.id !== 'string' || schedule.id === '') {
      throw new InvalidArgumentError('schedule.id must be a non-empty string');
    }
    if (typeof schedule.name !== 'string' || schedule.name === '') {
      throw new InvalidArgumentError('schedule.name must be a non-empty string');
    }
    await this.run(`save of schedule ${schedule.name}`, async () => {
      try {
        await this.dialect.execute('schedule-save', {
          id: schedule.id,
          name: schedule.name,
          task: schedule.task,
          args: encodeStored(schedule.args ?? []),
          options: encodeStored(schedule.options ?? {}),
          kind: schedule.kind,
          cron: schedule.cron ?? null,
          minutes: schedule.minutes ?? null,
          time_zone: schedule.timeZone ?? null,
          repeats: schedule.repeats,
          next_run_at: schedule.nextRunAt,
          last_run_at: schedule.lastRunAt ?? null,
          paused: Boolean(schedule.paused),
          created_at: schedule.createdAt,
        });
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new InvalidArgumentError(
            `schedule name "${schedule.name}" is already used by another schedule`,
          );
        }
        throw error;
      }
    });
  }

  /** One schedule by id, or undefined. */
  get(id: string): Promise<ScheduleRecord | undefined> {
    return this.run(`get of schedule ${id}`, async () => {
      const { rows } = await this.dialect.execute('schedule-get', { id });
      return rows[0] ? toSchedule(rows[0]) : undefined;
    });
  }

  /** Every schedule, by name. */
  list(): Promise<ScheduleRecord[]> {
    return this.run('list of schedules', async () =>
      (await this.dialect.execute('schedule-list', {})).rows.map(toSchedule),
    );
  }

  /** Delete one schedule; true when there was one. */
  remove(id: string): Promise<boolean> {
    return this.run(
      `remove of schedule ${id}`,
      async () => (await this.dialect.execute('schedule-remove', { id })).rowCount > 0,
    );
  }

  /** Active schedules with repeats left whose `nextRunAt <= now`, earliest first (a range scan). */
  due(now: number, limit: number): Promise<ScheduleRecord[]> {
    if (!Number.isInteger(limit) || limit < 0)
      throw new InvalidArgumentError(`due limit must be a non-negative integer, got ${String(limit)}`);
    return this.run('due schedules', async () =>
      (await this.dialect.execute('schedule-due', { now, limit })).rows.map(toSchedule),
    );
  }

  /** Compare-and-set: move the slot only if `nextRunAt` is still `slotAt`; false when another scheduler did. */
  recordRun(
    id: string,
    slotAt: number,
    next: { nextRunAt: number; repeats: number; lastRunAt: number },
  ): Promise<boolean> {
    return this.run(`recordRun of schedule ${id}`, async () => {
      const { rowCount } = await this.dialect.execute('schedule-record-run', {
        id,
        slot_at: slotAt,
        next_run_at: next.nextRunAt,
        repeats: next.repeats,
        last_run_at: next.lastRunAt,
      });
      return rowCount > 0;
    });
  }

  /** Take the lock row, or renew it when `owner` holds it, or take it over once it expired. */
  acquireLeadership(lock: string, owner: string, ttlMs: number): Promise<boolean> {
    if (!Number.isFinite(ttlMs) || ttlMs <= 0)
      throw new InvalidArgumentError(`ttlMs must be a positive number, got ${String(ttlMs)}`);
    return this.run(`acquireLeadership of ${lock}`, async () => {
      const now = this.clock.now();
      const { rowCount } = await this.dialect.execute('leadership-acquire', {
        name: lock,
        owner,
        expires_at: now + Math.trunc(ttlMs),
        now,
      });
      return rowCount > 0;
    });
  }

  /** Delete the lock row if `owner` holds it. */
  async releaseLeadership(lock: string, owner: string): Promise<void> {
    await this.run(`releaseLeadership of ${lock}`, () =>
      this.dialect.execute('leadership-release', { name: lock, owner }),
    );
  }

  /** Release the connection. Idempotent. */
  close(): Promise<void> {
    this.closed ??= this.dialect.release();
    return this.closed;
  }
}
