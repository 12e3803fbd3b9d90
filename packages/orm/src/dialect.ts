/**
 * The dialect seam: everything the broker, result backend and schedule store need from a SQL database,
 * and nothing else. PostgreSQL and SQLite implement it today; MySQL/MariaDB would add one more file
 * here and one more `queries/<dialect>/` + `migrations/<dialect>/` folder.
 */
import type { PackageLabel } from '@tasq/core/backend';
import type { SettledLease } from './settle-coalescer.js';
import type { DialectKind, QueryName } from './queries.js';
import type { TableNames } from './table-names.js';
import type { Wakeup } from './wakeups.js';

export type Row = Record<string, unknown>;
export type ParameterValue = string | number | bigint | boolean | null | undefined | Uint8Array;
export type Parameters = Record<string, ParameterValue>;

export interface QueryOutcome {
  rows: Row[];
  /** Rows returned or changed. */
  rowCount: number;
}

export interface InsertPackagesInput {
  queue: string;
  bodies: readonly Uint8Array[];
  /** One per body when the client sent labels (job id, task, expiry), stored in indexed columns. */
  labels?: readonly PackageLabel[] | undefined;
  priority: number;
  visibleAt: number;
  now: number;
}

export interface ClaimPackagesInput {
  queue: string;
  now: number;
  max: number;
  leaseMs: number;
  token: string;
}

/** A delivery given back: its lease and when it becomes claimable again (epoch ms). */
export interface ReleasedLease extends SettledLease {
  queue: string;
  visibleAt: number;
}

/** One outcome as stored in `results` (values already encoded by the stored-value codec). */
export interface ResultRow {
  id: string;
  name: string;
  queue: string;
  status: string;
  result: string | null;
  error: string | null;
  args: string | null;
  group_name: string | null;
  group_index: number | null;
  attempts: number;
  /** The claim key that keeps a success from prune until it is claimed (nullable). */
  keep_until_claimed: string | null;
  enqueued_at: number;
  started_at: number;
  stopped_at: number;
}

/** What a woken waiter is waiting for: a queue's packages, a job's result, pub/sub messages (SQLite). */
export type WakeTopic = 'packages' | 'results' | 'messages';

export interface SqlDialect {
  readonly kind: DialectKind;
  readonly names: TableNames;
  /** Where the database is, for error messages: "PostgreSQL at db:5432/app", "SQLite file /srv/tasq.db". Never a password. */
  readonly address: string;
  /** Run one statement of `queries/<dialect>/<query>.sql` with named parameters. */
  execute(query: QueryName, parameters: Parameters): Promise<QueryOutcome>;
  /** Store a batch of packages atomically (one statement on PostgreSQL, one transaction on SQLite); ids in body order. */
  insertPackages(input: InsertPackagesInput): Promise<string[]>;
  /**
   * Ack many deliveries with one commit (one statement on PostgreSQL, one transaction on SQLite).
   * Resolves with the `leaseKey` of every row actually deleted; the others had lost their lease.
   */
  ackPackages(settled: readonly SettledLease[]): Promise<Set<string>>;
  /**
   * Insert or replace a batch of outcomes (distinct ids) atomically and wake their waiters: one statement
   * and one notification per 8,000 bytes of ids on PostgreSQL, one transaction on SQLite.
   */
  saveResults(rows: readonly ResultRow[]): Promise<void>;
  /**
   * Release many deliveries with one commit (one statement and one notification per queue on PostgreSQL,
   * one transaction on SQLite), each deliverable from its own `visibleAt`. Resolves with the `leaseKey` of
   * every row actually released; the others had lost their lease. Wakes this process's waiters too.
   */
  releasePackages(released: readonly ReleasedLease[]): Promise<Set<string>>;
  /** Run the claim atomically; rows carry id, body, deliveries, priority. */
  claimPackages(input: ClaimPackagesInput): Promise<Row[]>;
  /**
   * Wake-ups for `topic`/`key` (a queue, a job id). Resolves once signals can no longer be missed (on
   * PostgreSQL: once LISTEN is in place; if it cannot be, waiters fall back to their poll timer).
   */
  subscribe(topic: WakeTopic, key: string): Promise<Wakeup>;
  /** Tell waiters that `key` changed, after a write made by this process (SQLite; PostgreSQL notifies in SQL). */
  announce(topic: WakeTopic, key: string): void;
  /** The LISTEN channel bound into statements that notify (PostgreSQL); '' on SQLite. */
  channel(topic: WakeTopic): string;
  /** How long an idle waiter sleeps before checking again without a wake-up. */
  readonly pollMs: number;
  /** Drop one user's reference; the connection closes with the last one. */
  release(): Promise<void>;
}
