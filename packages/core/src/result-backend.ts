/**
 * The result backend contract: where outcomes are stored and waited for. `@tasq/testing`'s
 * `resultBackendConformance` suite is its executable definition.
 */

import type { ResultAdministration } from './admin/result-administration.js';
import { InvalidArgumentError } from './errors.js';

export type TaskStatus = 'success' | 'failure';

/** A task's error as it travels and is stored: never the live Error object. */
export interface TaskErrorInfo {
  name: string;
  message: string;
  stack?: string;
}

/** One job's outcome. Times are epoch milliseconds. */
export interface TaskResult {
  /** The job id (time-sortable, so ordering by id is ordering by enqueue time). */
  id: string;
  /** The task name. */
  name: string;
  queue: string;
  status: TaskStatus;
  /** The return value when `status` is `success`. Any value the JSON serializer keeps (Date, BigInt, Map...). */
  result?: unknown;
  error?: TaskErrorInfo;
  /** The job's arguments, only when the operator asked for them to be stored. */
  args?: unknown[];
  group?: string;
  /** Position within the group, so `group()` can return members in the order they were given. */
  groupIndex?: number;
  /** Deliveries it took (1 = first try). */
  attempts: number;
  /**
   * `prune` keeps this success, whatever the save limit, and the time to live (`cached`) does not drop
   * it, until `claimOnce(keepUntilClaimed)` has been taken. A chord member carries its chord's hold key:
   * the callback is built from the members' stored results, so none may go before the chord is settled
   * (core's chord.ts claims the key then). This hold is the only thing a backend does for chords.
   */
  keepUntilClaimed?: string;
  enqueuedAt: number;
  startedAt: number;
  stoppedAt: number;
}

export interface ResultListQuery {
  status?: TaskStatus;
  name?: string;
  /** At most this many, newest (highest id) first. */
  limit: number;
  /** Paging cursor: only results whose id sorts before this id. */
  before?: string;
}

export interface PrunePolicy {
  /** Successes to keep (newest first). 0 keeps all; -1 keeps none. Failures are always kept. */
  saveLimit: number;
  /**
   * Apply the limit per task name or per group instead of overall. Per group, each group keeps its own
   * newest `saveLimit` successes, and the successes saved without a group form one bucket of their own that
   * keeps its newest `saveLimit` too (as Django-Q2's `save_limit_per: "group"` counts `group=None`).
   */
  per?: 'name' | 'group';
}

/**
 * Whether a save of `next` may replace an outcome stored as `stored` for the same job id: anything may,
 * except a failure over a success. A job that succeeded, lost its ack and failed when it was delivered
 * again did succeed; its failure is not recorded over that. A later success does replace a failure (a
 * retry that succeeded).
 */
export function replacesStoredOutcome(stored: TaskStatus, next: TaskStatus): boolean {
  return !(stored === 'success' && next === 'failure');
}

export interface ResultBackend {
  /** Short name for logs ("redis", "postgres", "memory"). */
  readonly name: string;

  /**
   * Store an outcome. Idempotent per `id`: a second save for the same id replaces the first (a retry that
   * succeeded after a failure), and wakes waiters again, except that a failure never replaces a stored
   * success (see {@link replacesStoredOutcome}): that save resolves and leaves the success as it was.
   */
  save(result: TaskResult): Promise<void>;

  /** The stored outcome, or undefined. */
  get(id: string): Promise<TaskResult | undefined>;

  /**
   * Resolve with the outcome as soon as it is saved (push-based where the store can notify: a waiter
   * wakes within tens of milliseconds of the save, not after a poll interval), or undefined after
   * `timeoutMs`. Resolves at once when the outcome is already stored. Aborting `signal` resolves undefined.
   */
  wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<TaskResult | undefined>;

  /** Every stored outcome of a group, ordered by `groupIndex` (then id). */
  group(group: string): Promise<TaskResult[]>;

  /** Outcomes newest first, filtered, paged with `before`. */
  list(query: ResultListQuery): Promise<TaskResult[]>;

  /**
   * Delete successes beyond the save limit (newest kept), overall, per task name, or per group with the
   * ungrouped successes as one more bucket (see {@link PrunePolicy.per}); never failures, and never a
   * success whose `keepUntilClaimed` key has not been claimed yet (such a result does not count against
   * the limit either). Returns how many were deleted.
   */
  prune(policy: PrunePolicy): Promise<number>;

  /**
   * Atomically claim `key`: exactly one caller, across every process and cluster, gets `true` per key
   * (until `ttlMs` passes, when given). Used so a job id a caller chose (a chord callback's, a chain
   * link's) is sent once and a schedule slot enqueued once, and to end a chord's hold.
   */
  claimOnce(key: string, ttlMs?: number): Promise<boolean>;

  /**
   * Give back a claim, so the next `claimOnce(key)` wins again; a key not claimed is left as it is. The
   * client gives back the claim on a job id it chose when the enqueue that took it failed, so a retry of
   * that enqueue is sent instead of being taken for a duplicate.
   */
  releaseClaim(key: string): Promise<void>;

  /** Release connections and pending waits (they resolve undefined). Idempotent. */
  close(): Promise<void>;

  /**
   * Optional: outcome deletion (one job, one group) and job progress, each part declared by a flag in
   * `administration.capabilities`. Absent: the backend offers none of it.
   */
  readonly administration?: ResultAdministration;
}

/**
 * A result backend's `cached` option (the configuration's `cached`, handed to plugins as
 * `PluginContext.resultTtlSeconds`): seconds an outcome is kept after it is saved. A backend drops an
 * outcome once that time has passed, natively where the store can (a key's time to live) and otherwise
 * when it is next read or pruned; `get`, `wait`, `group` and `list` never return it after that. Returns
 * the time to live in milliseconds, 0 for none; refuses anything but a positive number, naming `backend`.
 */
/** Refuses a `keepUntilClaimed` that is set but is not a non-empty string, naming `backend`. */
export function checkKeepUntilClaimed(backend: string, key: unknown): void {
  // claimOnce refuses '' and non-strings, so such a key would hold its success for good.
  if (key !== undefined && (typeof key !== 'string' || key === '')) {
    throw new InvalidArgumentError(
      `${backend} result backend: result.keepUntilClaimed must be a non-empty string when set, got ${JSON.stringify(key)}`,
    );
  }
}

export function checkCachedSeconds(backend: string, cached: number | undefined): number {
  if (cached === undefined) return 0;
  if (typeof cached !== 'number' || !Number.isFinite(cached) || cached <= 0) {
    throw new InvalidArgumentError(
      `${backend} result backend \`cached\` must be a positive number of seconds, got ${String(cached)}`,
    );
  }
  return Math.ceil(cached * 1000);
}
