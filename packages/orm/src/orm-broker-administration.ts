/**
 * The SQL broker's administration capability, every part of it. Each read is one statement served by an
 * index of migration 0003 (PostgreSQL) / 0004 (SQLite): lookups by job id, live packages of a queue
 * newest first, dead letters newest death first; the plan tests pin that none of them scans a queue.
 */
import {
  type BrokerAdministration,
  type BrokerAdministrationCapabilities,
  type CancelMark,
  type Clock,
  type DeadLetterFilter,
  type DeadLetterRetention,
  checkLimit,
  checkText,
  InvalidArgumentError,
  checkLiveStates,
  type PackageListQuery,
  type PackagePage,
  type RequeueRequest,
  type StoredPackage,
} from '@tasq/core/backend';
import type { Parameters, Row, SqlDialect } from './dialect.js';
import { toBytes } from './orm-broker.js';
import { mapDatabaseError } from './orm-errors.js';
import { OrmMarks } from './orm-marks.js';
import type { QueryName } from './queries.js';

export class OrmBrokerAdministration implements BrokerAdministration {
  readonly capabilities: BrokerAdministrationCapabilities = Object.freeze({
    lookup: true,
    browse: true,
    deadLetters: true,
    remove: true,
    pause: true,
    cancelMarks: true,
  });

  private readonly marks: OrmMarks;

  constructor(
    private readonly dialect: SqlDialect,
    private readonly clock: Clock,
    private readonly assertOpen: () => void,
  ) {
    this.marks = new OrmMarks(dialect, clock, (query, parameters, what) => this.run(query, parameters, what));
  }

  async find(jobId: string): Promise<StoredPackage | undefined> {
    checkText('jobId', jobId);
    const { rows } = await this.run('admin-find', { job_id: jobId }, `look up job ${jobId}`);
    return rows[0] ? this.describe(rows[0]) : undefined;
  }

  async list(query: PackageListQuery): Promise<PackagePage> {
    checkText('queue', query.queue);
    const limit = checkLimit(query.limit);
    const states = checkLiveStates(query.states);
    const now = this.clock.now();
    const [beforeAt, beforeId] =
      query.cursor === undefined ? [MAX_BIGINT, MAX_BIGINT] : pairCursor(query.cursor);
    const ready = states.includes('ready');
    const waiting = states.includes('delayed') || states.includes('reserved');
    // One row more than the page: whether there is a next page, without a count.
    const { rows } = await this.run(
      'admin-list',
      {
        queue: query.queue,
        now,
        after_at: ready ? MIN_BIGINT : String(now),
        until_at: minimum(waiting ? MAX_BIGINT : String(now), beforeAt),
        skip_reserved: states.includes('reserved') ? 0 : 1,
        skip_delayed: states.includes('delayed') ? 0 : 1,
        task: query.task ?? null,
        before_at: beforeAt,
        before_id: beforeId,
        limit: limit + 1,
      },
      `list queue "${query.queue}"`,
    );
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const packages = page.map((row) => this.describe(row));
    return rows.length > limit && last
      ? { packages, next: `${String(last.visible_at)}:${String(last.id)}` }
      : { packages };
  }

  async listDead(query: Omit<PackageListQuery, 'states'>): Promise<PackagePage> {
    checkText('queue', query.queue);
    const limit = checkLimit(query.limit);
    const [beforeAt, beforeId] = query.cursor === undefined ? [null, null] : pairCursor(query.cursor);
    const { rows } = await this.run(
      'admin-list-dead',
      {
        queue: query.queue,
        task: query.task ?? null,
        before_at: beforeAt,
        before_id: beforeId,
        limit: limit + 1,
      },
      `list the dead letters of queue "${query.queue}"`,
    );
    const page = rows.slice(0, limit).map((row) => this.describe(row));
    const last = page.at(-1);
    return rows.length > limit && last
      ? { packages: page, next: `${last.deadAt}:${last.packageId}` }
      : { packages: page };
  }

  async requeueDead(requests: readonly RequeueRequest[]): Promise<string[]> {
    const requeued: string[] = [];
    const queues = new Set<string>();
    for (const request of requests) {
      const id = integerCursor(request.packageId);
      const { rows } = await this.run(
        'admin-requeue-dead',
        {
          id,
          body: request.body ?? null,
          now: this.clock.now(),
          ...(this.dialect.kind === 'postgres' ? { channel: this.dialect.channel('packages') } : {}),
        },
        `requeue dead letter ${request.packageId}`,
      );
      if (rows[0]) {
        requeued.push(String(rows[0].id));
        queues.add(String(rows[0].queue));
      }
    }
    // SQLite wakes this process's waiting consumers here; PostgreSQL notified in the statement.
    if (this.dialect.kind === 'sqlite') for (const queue of queues) this.dialect.announce('packages', queue);
    return requeued;
  }

  async deleteDead(packageIds: readonly string[]): Promise<string[]> {
    const deleted: string[] = [];
    for (const packageId of packageIds) {
      const { rowCount } = await this.run(
        'admin-delete-dead',
        { id: integerCursor(packageId) },
        `delete dead letter ${packageId}`,
      );
      if (rowCount > 0) deleted.push(packageId);
    }
    return deleted;
  }

  async purgeDead(filter: DeadLetterFilter): Promise<number> {
    checkText('queue', filter.queue);
    const { rowCount } = await this.run(
      'admin-purge-dead',
      { queue: filter.queue, task: filter.task ?? null },
      `purge the dead letters of queue "${filter.queue}"`,
    );
    return rowCount;
  }

  async trimDead(queue: string, retention: DeadLetterRetention): Promise<number> {
    checkText('queue', queue);
    let removed = 0;
    if (retention.maxAgeMs !== undefined) {
      const cutoff = this.clock.now() - retention.maxAgeMs;
      removed += (
        await this.run('admin-trim-dead-age', { queue, cutoff }, `trim the dead letters of "${queue}"`)
      ).rowCount;
    }
    if (retention.maxCount !== undefined) {
      removed += (
        await this.run(
          'admin-trim-dead-count',
          { queue, keep: retention.maxCount },
          `trim the dead letters of "${queue}"`,
        )
      ).rowCount;
    }
    return removed;
  }

  async remove(jobId: string): Promise<number> {
    checkText('jobId', jobId);
    return (await this.run('admin-remove', { job_id: jobId, now: this.clock.now() }, `remove job ${jobId}`))
      .rowCount;
  }

  setPaused(queue: string, paused: boolean): Promise<void> {
    return this.marks.setPaused(queue, paused);
  }

  pausedQueues(): Promise<string[]> {
    return this.marks.pausedQueues();
  }

  markCancelled(jobId: string, reason: string): Promise<void> {
    return this.marks.markCancelled(jobId, reason);
  }

  cancelMarks(jobIds: readonly string[]): Promise<CancelMark[]> {
    return this.marks.cancelMarks(jobIds);
  }

  clearCancelMarks(jobIds: readonly string[]): Promise<number> {
    return this.marks.clearCancelMarks(jobIds);
  }

  private async run(query: QueryName, parameters: Parameters, what: string) {
    this.assertOpen();
    try {
      return await this.dialect.execute(query, parameters);
    } catch (error) {
      throw mapDatabaseError(error, what, this.dialect.address);
    }
  }

  private describe(row: Row): StoredPackage {
    const now = this.clock.now();
    const visibleAt = Number(row.visible_at);
    const dead = row.dead_at !== null && row.dead_at !== undefined;
    const state = dead
      ? 'dead'
      : visibleAt <= now
        ? 'ready'
        : row.lease_token === null || row.lease_token === undefined
          ? 'delayed'
          : 'reserved';
    return {
      packageId: String(row.id),
      ...(row.job_id != null ? { jobId: String(row.job_id) } : {}),
      ...(row.task != null ? { task: String(row.task) } : {}),
      ...(row.expires_at != null ? { expiresAt: Number(row.expires_at) } : {}),
      queue: String(row.queue),
      state,
      deliveries: Number(row.deliveries),
      priority: Number(row.priority),
      enqueuedAt: Number(row.enqueued_at),
      ...(state === 'delayed' || state === 'reserved' ? { visibleAt } : {}),
      ...(dead ? { deadAt: Number(row.dead_at), deadReason: String(row.dead_reason ?? '') } : {}),
      body: toBytes(row.body),
    };
  }
}

/** A package id or list cursor: the decimal id of a row. */
function integerCursor(value: string): string {
  if (typeof value !== 'string' || !/^\d{1,19}$/.test(value)) {
    throw new InvalidArgumentError(`${JSON.stringify(value)} is not a package id or cursor of this broker`);
  }
  return value;
}

/** A list cursor: "time:id" of the last row shown (its visible_at, or its dead_at for dead letters). */
function pairCursor(cursor: string): [string, string] {
  const match = /^(\d{1,18}):(\d{1,18})$/.exec(cursor);
  if (!match) throw new InvalidArgumentError(`${JSON.stringify(cursor)} is not a list cursor of this broker`);
  return [match[1]!, match[2]!];
}

/** Bounds of a bigint column, as text (bound as values; beyond a JavaScript number's safe range). */
const MAX_BIGINT = '9223372036854775807';
const MIN_BIGINT = '-9223372036854775808';

/** The smaller of two decimal integers given as text. */
function minimum(a: string, b: string): string {
  return BigInt(a) <= BigInt(b) ? a : b;
}
