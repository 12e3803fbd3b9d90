/**
 * Collection names and the indexes tasq creates on start. Index specifications are data so they can be
 * checked without a server, and created idempotently with `createIndexes` (an index that already exists with
 * the same keys and options is a no-op on the server).
 */
import type { Db, IndexDescription } from 'mongodb';

/** The collections of one tasq deployment, named `<prefix><role>`. */
export interface CollectionNames {
  /** Packages: ready, delayed, reserved and dead-lettered, one document each. */
  readonly packages: string;
  /** Task outcomes, one document per job id. */
  readonly results: string;
  /** `claimOnce` keys. */
  readonly claims: string;
  /** Schedules. */
  readonly schedules: string;
  /** Leader locks. */
  readonly locks: string;
  /** Pause flags, one document per paused queue (administration). */
  readonly queueFlags: string;
  /** Cancel marks, one document per job id (administration). */
  readonly cancelMarks: string;
  /** The latest progress of each job (result administration). */
  readonly progress: string;
}

export function collectionNames(prefix: string): CollectionNames {
  return {
    packages: `${prefix}packages`,
    results: `${prefix}results`,
    claims: `${prefix}claims`,
    schedules: `${prefix}schedules`,
    locks: `${prefix}locks`,
    queueFlags: `${prefix}queue_flags`,
    cancelMarks: `${prefix}cancel_marks`,
    progress: `${prefix}progress`,
  };
}

/**
 * The claim order: higher priority first, then earliest `runAt`, then enqueue order (`_id` is an ObjectId
 * made by the producer; within one producer its counter makes it increase).
 */
export const CLAIM_SORT = { priority: -1, runAt: 1, _id: 1 } as const;

/**
 * Serves the claim `{queue, runAt <= now, lockedUntil <= now}` sorted by {@link CLAIM_SORT}. `queue` is an
 * equality, so putting the sort fields right after it lets the index deliver packages already in claim
 * order: `findOneAndUpdate` walks it and stops at the first free package instead of sorting the whole
 * backlog in memory (with `lockedUntil` second, every claim would be a blocking sort over all ready
 * packages). `lockedUntil` is the last key so locked packages are skipped from the index keys alone,
 * without fetching their documents.
 */
export const PACKAGE_CLAIM_INDEX: IndexDescription = {
  name: 'tasq_claim',
  key: { queue: 1, priority: -1, runAt: 1, _id: 1, lockedUntil: 1 },
};

/** Serves `size()`'s reserved and dead counts and `purge`: range scans on `lockedUntil` within a queue. */
export const PACKAGE_LEASE_INDEX: IndexDescription = {
  name: 'tasq_lease',
  key: { queue: 1, lockedUntil: 1 },
};

/**
 * Administration: a job's newest package by job id (only labelled packages carry `jobId`); a queue's
 * packages newest stored first (`_id` is made at enqueue, so its order is the store order), also per
 * task; and its dead letters newest death first.
 */
export const PACKAGE_JOB_INDEX: IndexDescription = {
  name: 'tasq_job',
  key: { jobId: 1, _id: -1 },
  partialFilterExpression: { jobId: { $exists: true } },
};
export const PACKAGE_BROWSE_INDEX: IndexDescription = { name: 'tasq_browse', key: { queue: 1, _id: -1 } };
export const PACKAGE_BROWSE_TASK_INDEX: IndexDescription = {
  name: 'tasq_browse_task',
  key: { queue: 1, task: 1, _id: -1 },
  partialFilterExpression: { task: { $exists: true } },
};
export const PACKAGE_DEAD_INDEX: IndexDescription = {
  name: 'tasq_dead',
  key: { queue: 1, 'deadLetter.at': -1, _id: -1 },
  partialFilterExpression: { 'deadLetter.at': { $exists: true } },
};

export const PACKAGE_INDEXES: readonly IndexDescription[] = [
  PACKAGE_CLAIM_INDEX,
  PACKAGE_LEASE_INDEX,
  PACKAGE_JOB_INDEX,
  PACKAGE_BROWSE_INDEX,
  PACKAGE_BROWSE_TASK_INDEX,
  PACKAGE_DEAD_INDEX,
];

/** Progress: TTL on `expiresAt`, set only when the result backend has `cached`. */
export const PROGRESS_INDEXES: readonly IndexDescription[] = [
  { name: 'tasq_expiry', key: { expiresAt: 1 }, expireAfterSeconds: 0 },
];

/**
 * Results: TTL on `expiresAt` (set only when `cached` is configured; a document without the field never
 * expires), plus the orders `group()` and `list()` read in.
 */
export const RESULT_INDEXES: readonly IndexDescription[] = [
  { name: 'tasq_expiry', key: { expiresAt: 1 }, expireAfterSeconds: 0 },
  { name: 'tasq_group', key: { group: 1, groupIndex: 1, _id: 1 } },
  { name: 'tasq_status', key: { status: 1, _id: -1 } },
  { name: 'tasq_name', key: { name: 1, status: 1, _id: -1 } },
  // Sparse: only chord members carry the field, so prune finds the claim keys to check without a scan.
  { name: 'tasq_held', key: { keepUntilClaimed: 1 }, sparse: true },
];

/** Claims: `_id` is the key (unique by nature); TTL removes claims whose `ttlMs` has passed. */
export const CLAIM_INDEXES: readonly IndexDescription[] = [
  { name: 'tasq_expiry', key: { expiresAt: 1 }, expireAfterSeconds: 0 },
];

/** Schedules: unique human-chosen names, and the `due()` scan. */
export const SCHEDULE_INDEXES: readonly IndexDescription[] = [
  { name: 'tasq_name', key: { name: 1 }, unique: true },
  { name: 'tasq_due', key: { paused: 1, nextRunAt: 1 } },
];

/** Create `indexes` on `collection` (and the collection itself when missing). Idempotent. */
export async function ensureIndexes(
  database: Db,
  collection: string,
  indexes: readonly IndexDescription[],
): Promise<void> {
  if (indexes.length === 0) return;
  await database.collection(collection).createIndexes([...indexes]);
}
