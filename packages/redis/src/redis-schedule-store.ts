import {
  decodeStoredValue,
  encodeStoredValue,
  InvalidArgumentError,
  type Logger,
  type ScheduleRecord,
  type ScheduleStore,
  silentLogger,
} from '@tasq/core/backend';
import {
  closeClient,
  openClient,
  type RedisClient,
  type RedisConnectionOptions,
} from './redis-connection.js';
import { type RedisCall, redisCallsThrough } from './redis-errors.js';
import { deploymentPrefix, ScheduleKeys } from './redis-keys.js';
import { runScript } from './redis-scripts.js';
import { checkInteger, checkNonEmptyString } from './redis-validation.js';

/** Options of {@link RedisScheduleStore}. */
export interface RedisScheduleStoreOptions extends RedisConnectionOptions {
  logger?: Logger;
}

/** The fields `recordRun` changes, kept beside the encoded record so the compare-and-set is one script. */
type MutableFields = 'nextRunAt' | 'repeats' | 'lastRunAt' | 'paused';

/**
 * Schedule store on Redis: a hash per schedule (the encoded record, plus `nextRunAt`, `repeats`,
 * `lastRunAt` and `paused` as plain fields), a sorted set of every schedule and one of the runnable ones
 * by `nextRunAt`, and the leader lock as a string holding its owner token (SET NX PX; renewal and
 * release by Lua, so a lock is never renewed or deleted by a cluster that does not hold it).
 */
export class RedisScheduleStore implements ScheduleStore {
  readonly name = 'redis';
  readonly prefix: string;
  private readonly client: RedisClient;
  private readonly withErrors: RedisCall;
  private readonly ownsClient: boolean;
  private readonly keys: ScheduleKeys;
  private closed = false;

  /** Opens (or adopts) the client described by `options`; throws `InvalidArgumentError` for bad options. */
  constructor(options: RedisScheduleStoreOptions = {}) {
    this.prefix = deploymentPrefix(options.prefix, options.deployment);
    this.keys = new ScheduleKeys(this.prefix);
    const logger = options.logger ?? silentLogger;
    const { client, owned } = openClient(options, logger);
    this.client = client;
    this.withErrors = redisCallsThrough(client);
    this.ownsClient = owned;
  }

  /** Create or replace schedule `schedule.id`, in one MULTI transaction. */
  async save(schedule: ScheduleRecord): Promise<void> {
    this.checkOpen();
    const id = checkNonEmptyString('schedule id', schedule?.id);
    if (typeof schedule.nextRunAt !== 'number' || !Number.isFinite(schedule.nextRunAt)) {
      throw new InvalidArgumentError(`schedule ${id}: nextRunAt must be epoch milliseconds`);
    }
    checkInteger(`schedule ${id}: repeats`, schedule.repeats, -1, Number.MAX_SAFE_INTEGER);
    const { nextRunAt, repeats, lastRunAt, paused, ...rest } = schedule;
    const key = this.keys.schedule(id);
    const fields: Record<string, string> = {
      record: encodeStoredValue(rest),
      nextRunAt: String(nextRunAt),
      repeats: String(repeats),
      paused: paused ? '1' : '0',
    };
    if (lastRunAt !== undefined) fields.lastRunAt = String(lastRunAt);
    const transaction = this.client.multi().del(key).hset(key, fields).zadd(this.keys.all, nextRunAt, id);
    if (paused || repeats === 0) transaction.zrem(this.keys.runnable, id);
    else transaction.zadd(this.keys.runnable, nextRunAt, id);
    await this.withErrors('schedule save', async () => {
      const results = (await transaction.exec()) ?? [];
      for (const [error] of results) if (error) throw error;
    });
  }

  /** The schedule, or undefined. */
  async get(id: string): Promise<ScheduleRecord | undefined> {
    this.checkOpen();
    const fields = await this.withErrors('schedule get', () => this.client.hgetall(this.keys.schedule(id)));
    return toRecord(fields);
  }

  /** Every schedule, by `nextRunAt`. */
  async list(): Promise<ScheduleRecord[]> {
    this.checkOpen();
    const ids = await this.withErrors('schedule list', () => this.client.zrange(this.keys.all, '0', '-1'));
    return this.load(ids);
  }

  /** Delete the schedule; true when it existed. */
  async remove(id: string): Promise<boolean> {
    this.checkOpen();
    const results = await this.withErrors('schedule remove', async () =>
      this.client
        .multi()
        .del(this.keys.schedule(id))
        .zrem(this.keys.all, id)
        .zrem(this.keys.runnable, id)
        .exec(),
    );
    return Number(results?.[0]?.[1] ?? 0) > 0;
  }

  /** Runnable schedules with `nextRunAt <= now`, earliest first, at most `limit`. */
  async due(now: number, limit: number): Promise<ScheduleRecord[]> {
    this.checkOpen();
    checkInteger('due limit', limit, 0, 100_000);
    if (limit === 0) return [];
    const ids = await this.withErrors('schedule due', () =>
      this.client.zrangebyscore(this.keys.runnable, '-inf', String(now), 'LIMIT', 0, limit),
    );
    return this.load(ids);
  }

  /** Compare-and-set on `nextRunAt` (Lua): true for exactly one of several schedulers racing for a slot. */
  async recordRun(
    id: string,
    slotAt: number,
    next: { nextRunAt: number; repeats: number; lastRunAt: number },
  ): Promise<boolean> {
    this.checkOpen();
    const recorded = await this.withErrors('schedule recordRun', () =>
      runScript(
        this.client,
        'tasqScheduleRecordRun',
        this.keys.schedule(id),
        this.keys.all,
        this.keys.runnable,
        id,
        String(slotAt),
        String(next.nextRunAt),
        String(next.repeats),
        String(next.lastRunAt),
      ),
    );
    return recorded === 1;
  }

  /** Take the lock with SET NX PX, or renew it when `owner` holds it (one script). */
  async acquireLeadership(lock: string, owner: string, ttlMs: number): Promise<boolean> {
    this.checkOpen();
    checkNonEmptyString('lock owner', owner);
    const ttl = checkInteger('lock ttlMs', Math.ceil(ttlMs), 1, Number.MAX_SAFE_INTEGER);
    const held = await this.withErrors('acquireLeadership', () =>
      runScript(this.client, 'tasqLeaderAcquire', this.keys.lock(lock), owner, ttl),
    );
    return held === 1;
  }

  /** Delete the lock only when `owner` holds it. */
  async releaseLeadership(lock: string, owner: string): Promise<void> {
    this.checkOpen();
    await this.withErrors('releaseLeadership', () =>
      runScript(this.client, 'tasqLeaderRelease', this.keys.lock(lock), owner),
    );
  }

  /** Close the client when tasq opened it. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) await closeClient(this.client);
  }

  private async load(ids: string[]): Promise<ScheduleRecord[]> {
    if (ids.length === 0) return [];
    const pipeline = this.client.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.schedule(id));
    const results = await this.withErrors('schedule read', async () => (await pipeline.exec()) ?? []);
    const records: ScheduleRecord[] = [];
    for (const [error, fields] of results) {
      if (error) throw error;
      const record = toRecord(fields as Record<string, string>);
      if (record) records.push(record);
    }
    return records;
  }

  private checkOpen(): void {
    if (this.closed) throw new InvalidArgumentError('the Redis schedule store is closed');
  }
}

function toRecord(fields: Record<string, string>): ScheduleRecord | undefined {
  if (!fields || fields.record === undefined) return undefined;
  const rest = decodeStoredValue(fields.record) as Omit<ScheduleRecord, MutableFields>;
  const record: ScheduleRecord = {
    ...rest,
    nextRunAt: Number(fields.nextRunAt),
    repeats: Number(fields.repeats),
    paused: fields.paused === '1',
  };
  if (fields.lastRunAt !== undefined) record.lastRunAt = Number(fields.lastRunAt);
  return record;
}
