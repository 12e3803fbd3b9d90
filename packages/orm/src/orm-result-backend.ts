/**
 * Results in a SQL table. Saves are gathered into batches (core's ResultSaveCoalescer): one statement and
 * one commit per batch. `wait` is pushed: on PostgreSQL the batch's statement notifies the saved ids and
 * the waiter's LISTEN connection wakes it; on SQLite a save in this process wakes it at once and other
 * processes' saves are seen by the change check (~20 ms) or at the next poll.
 */
import {
  BrokerConnectionError,
  checkCachedSeconds,
  checkKeepUntilClaimed,
  type Clock,
  InvalidArgumentError,
  type PrunePolicy,
  type ResultBackend,
  type ResultListQuery,
  replacesStoredOutcome,
  systemClock,
  type TaskErrorInfo,
  type TaskResult,
  type TaskStatus,
} from '@tasq/core/backend';
import { ResultSaveCoalescer } from '@tasq/core/internal';
import type { ResultRow, Row, SqlDialect } from './dialect.js';
import { mapDatabaseError } from './orm-errors.js';
import { OrmResultAdministration } from './orm-result-administration.js';
import { decodeStored, encodeStored } from './stored-value.js';

/**
 * Whether a read's row is held: its `keepUntilClaimed` key has no live claim, so `cached` does not drop
 * it. Computed by the read query (`held`: a boolean on PostgreSQL, 0 or 1 on SQLite).
 */
function isHeld(row: Row): boolean {
  return Number(row.held) === 1;
}

/** The outcome of a read's row: only the task's columns (the query's `held` stays out). */
function toResult(row: Row): TaskResult {
  const result: TaskResult = {
    id: String(row.id),
    name: String(row.name),
    queue: String(row.queue),
    status: row.status as TaskResult['status'],
    attempts: Number(row.attempts),
    enqueuedAt: Number(row.enqueued_at),
    startedAt: Number(row.started_at),
    stoppedAt: Number(row.stopped_at),
  };
  if (row.result !== null && row.result !== undefined) result.result = decodeStored(row.result);
  if (row.error !== null && row.error !== undefined) result.error = decodeStored(row.error) as TaskErrorInfo;
  if (row.args !== null && row.args !== undefined) result.args = decodeStored(row.args) as unknown[];
  if (row.group_name !== null && row.group_name !== undefined) result.group = String(row.group_name);
  if (row.group_index !== null && row.group_index !== undefined) result.groupIndex = Number(row.group_index);
  if (row.keep_until_claimed !== null && row.keep_until_claimed !== undefined) {
    result.keepUntilClaimed = String(row.keep_until_claimed);
  }
  return result;
}

export interface OrmResultBackendOptions {
  clock?: Clock;
  /**
   * Seconds an outcome is kept after its task stopped (the configuration's `cached`). Reads skip older
   * outcomes at once; their rows are deleted by a sweep that saves and reads meeting an expired row start
   * at most every tenth of this time (1 s to 60 s), and that every prune runs. A success held by its
   * `keepUntilClaimed` key (a chord member whose chord is not settled yet) is kept past this time until
   * the key is claimed; from then on the time counts from its stop as for any other outcome. Default:
   * kept until pruned.
   */
  cached?: number;
}

/** Bounds of the interval between two sweeps of expired outcomes. */
const MIN_SWEEP_INTERVAL_MS = 1_000;
const MAX_SWEEP_INTERVAL_MS = 60_000;

/** Outcomes in the `results` table. Obtain one with `createOrmResultBackend(options)` or the plugin. */
export class OrmResultBackend implements ResultBackend {
  readonly name: string;
  readonly administration: OrmResultAdministration;
  private readonly clock: Clock;
  private readonly closing = new AbortController();
  private closed: Promise<void> | undefined;
  private readonly saves: ResultSaveCoalescer<ResultRow>;
  private readonly ttlMs: number;
  private readonly sweepIntervalMs: number;
  private lastSweepAt: number;
  private sweeping: Promise<number> | undefined;

  constructor(
    private readonly dialect: SqlDialect,
    options: OrmResultBackendOptions = {},
  ) {
    this.name = dialect.kind;
    this.clock = options.clock ?? systemClock;
    this.administration = new OrmResultAdministration(dialect, () => this.assertOpen(), this.clock);
    this.ttlMs = checkCachedSeconds(dialect.kind, options.cached);
    this.sweepIntervalMs = Math.min(
      MAX_SWEEP_INTERVAL_MS,
      Math.max(MIN_SWEEP_INTERVAL_MS, Math.round(this.ttlMs / 10)),
    );
    // The first sweep waits one interval: a process opening the backend need not scan the table at once.
    this.lastSweepAt = this.clock.now();
    this.saves = new ResultSaveCoalescer<ResultRow>(
      (rows) => this.writeBatch(rows),
      undefined,
      (earlier, later) => replacesStoredOutcome(earlier.status as TaskStatus, later.status as TaskStatus),
    );
  }

  /**
   * One statement (PostgreSQL) or transaction (SQLite) for the batch. A batch that fails is retried row
   * by row when the error may be one bad row (a value the database refuses): every other row is still
   * written, and only the bad row's callers are rejected. A connection error fails the whole batch at
   * once: nothing of it was committed, and retrying row by row against a database that is away only
   * delays the error.
   */
  private async writeBatch(rows: ResultRow[]): Promise<Map<string, unknown> | undefined> {
    try {
      await this.writeRows(rows);
      return undefined;
    } catch (error) {
      if (
        rows.length === 1 ||
        mapDatabaseError(error, 'save of results', this.dialect.address) instanceof BrokerConnectionError
      ) {
        throw error;
      }
    }
    const failures = new Map<string, unknown>();
    await Promise.all(
      rows.map((row) => this.writeRows([row]).catch((error: unknown) => failures.set(row.id, error))),
    );
    return failures;
  }

  private async writeRows(rows: ResultRow[]): Promise<void> {
    await this.dialect.saveResults(rows);
    // Waiters in this process wake at once, without the LISTEN round trip.
    for (const row of rows) this.dialect.announce('results', row.id);
  }

  /**
   * Insert or replace the outcome of `result.id` and wake its waiters. Resolves once the row is committed;
   * saves made together share one statement and commit, and of two saves of one id the later wins.
   */
  async save(result: TaskResult): Promise<void> {
    if (!result || typeof result.id !== 'string' || result.id === '') {
      throw new InvalidArgumentError('result.id must be a non-empty string');
    }
    if (result.status !== 'success' && result.status !== 'failure') {
      throw new InvalidArgumentError(
        `result.status must be "success" or "failure", got ${String(result.status)}`,
      );
    }
    checkKeepUntilClaimed(this.name, result.keepUntilClaimed);
    this.assertOpen();
    let row: ResultRow;
    // Encoded here, so a value the codec refuses fails this caller only, not its batch.
    try {
      row = {
        id: result.id,
        name: result.name,
        queue: result.queue,
        status: result.status,
        result: encodeStored(result.result),
        error: encodeStored(result.error),
        args: encodeStored(result.args),
        group_name: result.group ?? null,
        group_index: result.groupIndex ?? null,
        attempts: result.attempts,
        keep_until_claimed: result.keepUntilClaimed ?? null,
        enqueued_at: result.enqueuedAt,
        started_at: result.startedAt,
        stopped_at: result.stoppedAt,
      };
    } catch (error) {
      throw mapDatabaseError(error, `save of result ${result.id}`, this.dialect.address);
    }
    try {
      await this.saves.save(result.id, row);
    } catch (error) {
      throw mapDatabaseError(error, `save of result ${result.id}`, this.dialect.address);
    }
    this.maybeSweep();
  }

  /**
   * Start a sweep when one is due (with `cached`, at most once per interval). Not awaited: the caller's
   * work is done. A failed sweep leaves rows that reads skip; the next one takes them.
   */
  private maybeSweep(): void {
    if (this.ttlMs > 0 && this.clock.now() - this.lastSweepAt >= this.sweepIntervalMs) {
      this.sweepExpired().catch(() => undefined);
    }
  }

  /**
   * Delete the rows of outcomes past their time to live, except held ones, and progress reported before
   * it; one sweep at a time. Returns how many outcomes.
   */
  private sweepExpired(): Promise<number> {
    this.sweeping ??= (async () => {
      const now = this.clock.now();
      this.lastSweepAt = now;
      try {
        const { rowCount } = await this.dialect.execute('result-expire', {
          cutoff: now - this.ttlMs,
          now,
        });
        await this.dialect.execute('progress-expire', { cutoff: now - this.ttlMs });
        return rowCount;
      } catch (error) {
        throw mapDatabaseError(error, 'expiry of results', this.dialect.address);
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }

  /**
   * The `now` bound into a read: the claims lookup that tells whether a row is held is only needed with
   * `cached`, so without it the read binds null and skips the lookup.
   */
  private readNow(): number | null {
    return this.ttlMs > 0 ? this.clock.now() : null;
  }

  /**
   * A row whose time to live has not passed at `now` (every row, without `cached`), or that is held, however
   * old. Meeting an expired one starts a sweep.
   */
  private live(row: Row, now: number | null): boolean {
    if (now === null || Number(row.stopped_at) >= now - this.ttlMs || isHeld(row)) return true;
    this.maybeSweep();
    return false;
  }

  /** The stored outcome of job `id`, or undefined. */
  async get(id: string): Promise<TaskResult | undefined> {
    this.assertOpen();
    try {
      const now = this.readNow();
      const { rows } = await this.dialect.execute('result-get', { id, now });
      return rows[0] && this.live(rows[0], now) ? toResult(rows[0]) : undefined;
    } catch (error) {
      throw mapDatabaseError(error, `get of result ${id}`, this.dialect.address);
    }
  }

  /** Subscribe first, then look: a save landing between the two still wakes the waiter. */
  async wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<TaskResult | undefined> {
    this.assertOpen();
    const stop = signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
    const deadline = this.clock.now() + Math.max(0, timeoutMs);
    const wakeup = await this.dialect.subscribe('results', id);
    try {
      for (;;) {
        if (stop.aborted) return undefined;
        const found = await this.get(id);
        if (found) return found;
        const left = deadline - this.clock.now();
        if (left <= 0 || stop.aborted) return undefined;
        await wakeup.wait(Math.min(left, this.dialect.pollMs), stop);
      }
    } finally {
      wakeup.close();
    }
  }

  /** Every stored outcome of `group`, by `groupIndex` then id. */
  async group(group: string): Promise<TaskResult[]> {
    this.assertOpen();
    try {
      const now = this.readNow();
      const { rows } = await this.dialect.execute('result-group', { group_name: group, now });
      return rows.filter((row) => this.live(row, now)).map(toResult);
    } catch (error) {
      throw mapDatabaseError(error, `group ${group}`, this.dialect.address);
    }
  }

  /** Outcomes newest (highest id) first, filtered by status and name, paged with `before`. */
  async list(query: ResultListQuery): Promise<TaskResult[]> {
    const limit = query?.limit;
    if (!Number.isInteger(limit) || limit < 0) {
      throw new InvalidArgumentError(`list limit must be a non-negative integer, got ${String(limit)}`);
    }
    this.assertOpen();
    try {
      const now = this.readNow();
      const { rows } = await this.dialect.execute('result-list', {
        status: query.status ?? null,
        name: query.name ?? null,
        before: query.before ?? null,
        limit,
        now,
      });
      // Expired outcomes are the oldest, so skipping them here shortens only the last pages; held ones are
      // listed however old, so such a short page can still have held outcomes after it.
      return rows.filter((row) => this.live(row, now)).map(toResult);
    } catch (error) {
      throw mapDatabaseError(error, 'list of results', this.dialect.address);
    }
  }

  /**
   * Delete successes beyond `saveLimit` (0 keeps all, -1 keeps none), overall or per name/group. Failures
   * stay, and so does a success whose `keepUntilClaimed` key is not claimed (or its claim expired): it is
   * not counted against the limit either. With `cached`, every outcome past its time to live is deleted
   * too (and counted), except a held success: it stays until its key is claimed.
   */
  async prune(policy: PrunePolicy): Promise<number> {
    const { saveLimit, per } = policy ?? {};
    if (!Number.isInteger(saveLimit) || saveLimit < -1) {
      throw new InvalidArgumentError(`saveLimit must be an integer of -1 or more, got ${String(saveLimit)}`);
    }
    if (per !== undefined && per !== 'name' && per !== 'group') {
      throw new InvalidArgumentError(`prune "per" must be "name" or "group", got ${String(per)}`);
    }
    this.assertOpen();
    // A background sweep may be in flight with an earlier `now`: let it finish, then sweep as of now, so
    // what prune returns counts every outcome expired by the time it was called.
    if (this.ttlMs > 0) await this.sweeping?.catch(() => undefined);
    const expired = this.ttlMs > 0 ? await this.sweepExpired() : 0;
    if (saveLimit === 0) return expired;
    try {
      const { rows } = await this.dialect.execute('result-prune', {
        keep: saveLimit === -1 ? 0 : saveLimit,
        per: per ?? '',
        now: this.clock.now(),
      });
      // A pruned job's progress goes with it, or the progress table would grow without bound.
      if (rows.length > 0) {
        await this.dialect.execute('progress-delete', {
          ids: JSON.stringify(rows.map((row) => String(row.id))),
        });
      }
      return expired + rows.length;
    } catch (error) {
      throw mapDatabaseError(error, 'prune of results', this.dialect.address);
    }
  }

  /** First caller per key wins, across processes; with `ttlMs`, the key can be won again once it passed. */
  async claimOnce(key: string, ttlMs?: number): Promise<boolean> {
    if (typeof key !== 'string' || key === '')
      throw new InvalidArgumentError('claimOnce key must be a non-empty string');
    if (ttlMs !== undefined && (!Number.isFinite(ttlMs) || ttlMs <= 0)) {
      throw new InvalidArgumentError(`claimOnce ttlMs must be a positive number, got ${String(ttlMs)}`);
    }
    this.assertOpen();
    const now = this.clock.now();
    try {
      const { rowCount } = await this.dialect.execute('claim-once', {
        key,
        expires_at: ttlMs === undefined ? null : now + Math.trunc(ttlMs),
        now,
      });
      return rowCount > 0;
    } catch (error) {
      throw mapDatabaseError(error, `claimOnce of ${key}`, this.dialect.address);
    }
  }

  async releaseClaim(key: string): Promise<void> {
    if (typeof key !== 'string' || key === '')
      throw new InvalidArgumentError('releaseClaim key must be a non-empty string');
    this.assertOpen();
    try {
      await this.dialect.execute('release-claim', { key });
    } catch (error) {
      throw mapDatabaseError(error, `releaseClaim of ${key}`, this.dialect.address);
    }
  }

  /** End pending waits (they resolve undefined) and release the connection. Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort();
      // Saves already accepted are written before the connection goes.
      await this.saves.drain();
      await this.dialect.release();
    })();
    return this.closed;
  }

  private assertOpen(): void {
    if (this.closing.signal.aborted)
      throw new InvalidArgumentError(`the ${this.name} result backend is closed`);
  }
}
