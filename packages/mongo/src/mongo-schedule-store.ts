/**
 * The MongoDB schedule store: schedules in `<prefix>schedules`, leader locks in `<prefix>locks`. A slot
 * is recorded with a compare-and-set `updateOne` on `nextRunAt`; the leader lock is one document per lock
 * name holding its owner and expiry.
 */
import {
  BrokerConnectionError,
  type Clock,
  InvalidArgumentError,
  type ScheduleRecord,
  type ScheduleStore,
  systemClock,
} from '@tasq/core/backend';
import type { Collection } from 'mongodb';
import type { MongoRuntime } from './mongo-broker.js';
import { ensureIndexes, SCHEDULE_INDEXES } from './mongo-collections.js';
import { MongoConnection } from './mongo-connection.js';
import { type ScheduleDocument, scheduleFromDocument, scheduleToDocument } from './mongo-documents.js';
import { isDuplicateKeyError, mapDriverErrors, toTasqError } from './mongo-errors.js';
import { type MongoOptions, resolveMongoOptions } from './mongo-options.js';

interface LockDocument {
  /** The lock name. */
  _id: string;
  owner: string;
  /** Epoch ms after which another owner may take the lock. */
  expiresAt: number;
}

export class MongoScheduleStore implements ScheduleStore {
  readonly name = 'mongo';

  private readonly schedules: Collection<ScheduleDocument>;
  private readonly locks: Collection<LockDocument>;
  private closed = false;

  private constructor(
    private readonly connection: MongoConnection,
    private readonly clock: Clock,
  ) {
    this.schedules = connection.database.collection<ScheduleDocument>(connection.collections.schedules);
    this.locks = connection.database.collection<LockDocument>(connection.collections.locks);
  }

  /** Connect and create the indexes. `BrokerConnectionError` when the server cannot be reached. */
  static async open(
    options: MongoOptions | string | undefined,
    runtime: MongoRuntime = {},
  ): Promise<MongoScheduleStore> {
    const resolved = resolveMongoOptions(options, runtime.deployment);
    const connection = await MongoConnection.open(resolved);
    try {
      await mapDriverErrors('create schedule indexes', () =>
        ensureIndexes(connection.database, connection.collections.schedules, SCHEDULE_INDEXES),
      );
      return new MongoScheduleStore(connection, runtime.clock ?? systemClock);
    } catch (error) {
      await connection.close();
      throw error;
    }
  }

  /** Create or replace by id. A name already used by another schedule is an `InvalidArgumentError`. */
  async save(schedule: ScheduleRecord): Promise<void> {
    this.checkOpen();
    if (typeof schedule?.id !== 'string' || schedule.id === '') {
      throw new InvalidArgumentError('save: schedule.id must be a non-empty string');
    }
    let document: ScheduleDocument;
    try {
      document = scheduleToDocument(schedule);
    } catch (error) {
      throw new InvalidArgumentError(
        `save: schedule "${schedule.name}" cannot be stored: ${(error as Error).message}`,
      );
    }
    try {
      await this.schedules.replaceOne({ _id: schedule.id }, document, { upsert: true });
    } catch (error) {
      if (isDuplicateKeyError(error)) {
        throw new InvalidArgumentError(
          `save: schedule name "${schedule.name}" is already used by another schedule; names must be unique`,
        );
      }
      throw toTasqError(error, `save schedule ${schedule.id}`);
    }
  }

  async get(id: string): Promise<ScheduleRecord | undefined> {
    this.checkOpen();
    const document = await mapDriverErrors(`get schedule ${id}`, () => this.schedules.findOne({ _id: id }));
    return document ? scheduleFromDocument(document) : undefined;
  }

  /** Every schedule, by name. */
  async list(): Promise<ScheduleRecord[]> {
    this.checkOpen();
    const documents = await mapDriverErrors('list schedules', () =>
      this.schedules.find({}).sort({ name: 1 }).toArray(),
    );
    return documents.map(scheduleFromDocument);
  }

  async remove(id: string): Promise<boolean> {
    this.checkOpen();
    const outcome = await mapDriverErrors(`remove schedule ${id}`, () =>
      this.schedules.deleteOne({ _id: id }),
    );
    return outcome.deletedCount > 0;
  }

  /** Active schedules (not paused, repeats left) due by `now`, earliest first. */
  async due(now: number, limit: number): Promise<ScheduleRecord[]> {
    this.checkOpen();
    if (!Number.isInteger(limit) || limit < 1) {
      throw new InvalidArgumentError(`due: limit must be a whole number >= 1 (got ${String(limit)})`);
    }
    const documents = await mapDriverErrors('due schedules', () =>
      this.schedules
        .find({ paused: false, repeats: { $ne: 0 }, nextRunAt: { $lte: now } })
        .sort({ nextRunAt: 1, _id: 1 })
        .limit(limit)
        .toArray(),
    );
    return documents.map(scheduleFromDocument);
  }

  /**
   * Compare-and-set on `nextRunAt`: one `updateOne` whose filter requires the slot to be unrecorded. The
   * server applies concurrent updates of one document one at a time and re-checks the filter for each, so
   * exactly one racer matches.
   */
  async recordRun(
    id: string,
    slotAt: number,
    next: { nextRunAt: number; repeats: number; lastRunAt: number },
  ): Promise<boolean> {
    this.checkOpen();
    const outcome = await mapDriverErrors(`record run of schedule ${id}`, () =>
      this.schedules.updateOne(
        { _id: id, nextRunAt: slotAt },
        { $set: { nextRunAt: next.nextRunAt, repeats: next.repeats, lastRunAt: next.lastRunAt } },
      ),
    );
    return outcome.matchedCount === 1;
  }

  /**
   * Take the lock when it is free, expired or already ours, in one upsert. When another owner holds it,
   * the filter matches nothing and the upsert's insert collides with the existing `_id`: not ours.
   */
  async acquireLeadership(lock: string, owner: string, ttlMs: number): Promise<boolean> {
    this.checkOpen();
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
      throw new InvalidArgumentError(`acquireLeadership: ttlMs must be a positive number (got ${ttlMs})`);
    }
    const now = this.clock.now();
    try {
      const held = await this.locks.findOneAndUpdate(
        { _id: lock, $or: [{ owner }, { expiresAt: { $lte: now } }] },
        { $set: { owner, expiresAt: now + ttlMs } },
        { upsert: true, returnDocument: 'after' },
      );
      return held?.owner === owner;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw toTasqError(error, `acquire leadership ${lock}`);
    }
  }

  /** Give the lock up if `owner` holds it; a no-op otherwise. */
  async releaseLeadership(lock: string, owner: string): Promise<void> {
    this.checkOpen();
    await mapDriverErrors(`release leadership ${lock}`, () => this.locks.deleteOne({ _id: lock, owner }));
  }

  /** Close the client if tasq made it. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.connection.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new BrokerConnectionError('mongo schedule store is closed');
  }
}
