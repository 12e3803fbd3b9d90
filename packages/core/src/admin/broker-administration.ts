/**
 * The broker's optional administration capability: what an operator may ask of the packages a broker
 * holds. A broker offers it as `broker.administration`; a broker without it (a custom one, or one whose server
 * cannot look inside its queues) still works, and the administration API says what it cannot answer
 * instead of guessing. Each flag in `capabilities` promises the methods it names; a flag that is false
 * means those methods are absent or must not be called. `@tasq/testing`'s broker conformance suite runs
 * the cases of every declared flag; docs/broker-contract.md is the prose.
 *
 * The broker still never decodes a body. What it knows of a job comes from the labels the client sends
 * beside the bodies (`EnqueueOptions.labels`): the job id, the task name and the expiry time.
 */

/** What the client tells a broker about one body it enqueues. Brokers without `administration` ignore labels. */
export interface PackageLabel {
  /** The job id inside the package (the same on every copy of a job: retries, requeues). */
  readonly jobId: string;
  /** The task name inside the package. */
  readonly task: string;
  /** Epoch ms after which the job must not start (the `expires` enqueue option). */
  readonly expiresAt?: number;
}

/**
 * Where a package is, as the broker sees it: deliverable now (`ready`), waiting for a delay or a delayed
 * release (`delayed`), under a live lease (`reserved`) or kept as a dead letter (`dead`).
 */
export type PackageState = 'ready' | 'delayed' | 'reserved' | 'dead';

export const PACKAGE_STATES: readonly PackageState[] = ['ready', 'delayed', 'reserved', 'dead'];

/** The states `list` browses; dead letters have their own listing (`listDead`). */
export type LivePackageState = Exclude<PackageState, 'dead'>;

/** One package as a broker holds it. Fields a broker cannot know are left out. */
export interface StoredPackage {
  /** The broker's id of the package (`Delivery.id`). */
  readonly packageId: string;
  /** From the package's label; absent for a package enqueued without one. */
  readonly jobId?: string;
  readonly task?: string;
  readonly expiresAt?: number;
  readonly queue: string;
  readonly state: PackageState;
  /** Deliveries so far (0 = never delivered). Requeueing a dead letter resets it. */
  readonly deliveries: number;
  readonly priority?: number;
  /** Epoch ms the broker stored it. */
  readonly enqueuedAt?: number;
  /** Epoch ms it becomes deliverable (`delayed`) or its lease ends (`reserved`). */
  readonly visibleAt?: number;
  /** Epoch ms it was dead-lettered, and why (`dead` only). */
  readonly deadAt?: number;
  readonly deadReason?: string;
  /** The package body, exactly as enqueued (or as replaced by `requeueDead`). */
  readonly body: Uint8Array;
}

export interface PackageListQuery {
  queue: string;
  /** Only packages in these states; absent or empty: every live state. */
  states?: readonly LivePackageState[];
  /** Only packages labelled with this task name. */
  task?: string;
  /** 1..1000. */
  limit: number;
  /** The `next` of the previous page. Opaque: only the broker that made it reads it. */
  cursor?: string;
}

/**
 * One page, newest first: live packages by the time each became or becomes deliverable, latest first
 * (its enqueue time when enqueued without a delay, its due time while delayed, its lease end while
 * reserved; ties in the order the broker stored them, latest first) (`list`);
 * dead letters by the time they died, latest first (`listDead`). `next` is absent on the last page.
 */
export interface PackagePage {
  readonly packages: StoredPackage[];
  readonly next?: string;
}

/** Which dead letters a bulk operation takes. */
export interface DeadLetterFilter {
  queue: string;
  task?: string;
}

/** How many dead letters a queue keeps: the newest `maxCount`, none older than `maxAgeMs`. */
export interface DeadLetterRetention {
  maxAgeMs?: number;
  maxCount?: number;
}

/** A dead letter to put back, with the body it goes back with (fresh attempts), when it changes. */
export interface RequeueRequest {
  packageId: string;
  /** The queue whose dead letters hold it (a broker that keeps dead letters per queue needs it). */
  queue?: string;
  body?: Uint8Array;
}

/** A persisted cancel mark: every cluster checks it before starting the job. */
export interface CancelMark {
  readonly jobId: string;
  readonly reason: string;
  /** Epoch ms the mark was set. */
  readonly at: number;
}

export interface BrokerAdministrationCapabilities {
  /** `find`: a job's newest package by job id, served by an index. */
  readonly lookup: boolean;
  /** `list`: packages of a queue by state and task, newest first, cursor-paged, served by an index. */
  readonly browse: boolean;
  /** `listDead`, `requeueDead`, `deleteDead`, `purgeDead`, `trimDead`. */
  readonly deadLetters: boolean;
  /** `remove`: take one ready or delayed package out by job id. */
  readonly remove: boolean;
  /** `setPaused`, `pausedQueues`: a persisted, cluster-wide pause flag per queue. */
  readonly pause: boolean;
  /** `markCancelled`, `cancelMarks`, `clearCancelMarks`: persisted cancel marks by job id. */
  readonly cancelMarks: boolean;
}

/**
 * The administration members of a broker. Every method may throw `BrokerConnectionError`. Methods are
 * optional in the type so that a broker implements only what it declares; the administration API checks
 * the flag before any call and answers `UnsupportedOperationError` itself.
 */
export interface BrokerAdministration {
  readonly capabilities: BrokerAdministrationCapabilities;

  /** lookup: the newest package labelled `jobId` (live or dead), or undefined. */
  find?(jobId: string): Promise<StoredPackage | undefined>;

  /** browse: a page of live (not dead) packages (see `PackageListQuery`). */
  list?(query: PackageListQuery): Promise<PackagePage>;

  /** deadLetters: dead letters of a queue (optionally of one task), newest death first. */
  listDead?(query: Omit<PackageListQuery, 'states'>): Promise<PackagePage>;
  /**
   * deadLetters: put dead letters back on their queue, deliverable now, with their delivery count reset
   * and their body replaced when one is given. Atomic per package: when two callers requeue the same
   * dead letter at once, exactly one gets its id back. Returns the package ids that were requeued
   * (a package that is not dead, or not there, is left out).
   */
  requeueDead?(requests: readonly RequeueRequest[]): Promise<string[]>;
  /**
   * deadLetters: delete these dead letters; returns the ids deleted (live packages are never touched).
   * `queue`, when given, is the queue whose dead letters hold them all (a broker that keeps dead letters
   * per queue needs it; others may ignore it).
   */
  deleteDead?(packageIds: readonly string[], queue?: string): Promise<string[]>;
  /** deadLetters: delete every dead letter of the filter; returns how many. */
  purgeDead?(filter: DeadLetterFilter): Promise<number>;
  /** deadLetters: delete dead letters of `queue` beyond the retention (oldest first); returns how many. */
  trimDead?(queue: string, retention: DeadLetterRetention): Promise<number>;

  /**
   * remove: delete the ready or delayed package(s) labelled `jobId` (never a reserved or dead one);
   * returns how many were removed. 0 when there is none, or when it is under a lease.
   */
  remove?(jobId: string): Promise<number>;

  /** pause: set or clear the pause flag of `queue`. Enqueues still succeed; clusters stop reserving. */
  setPaused?(queue: string, paused: boolean): Promise<void>;
  /** pause: every paused queue (one read: clusters poll it). */
  pausedQueues?(): Promise<string[]>;

  /** cancelMarks: persist a cancel mark (setting it again keeps the first). */
  markCancelled?(jobId: string, reason: string): Promise<void>;
  /** cancelMarks: the marks among `jobIds` (one read for a whole reserved batch). */
  cancelMarks?(jobIds: readonly string[]): Promise<CancelMark[]>;
  /** cancelMarks: drop marks (a retried job runs again); returns how many were dropped. */
  clearCancelMarks?(jobIds: readonly string[]): Promise<number>;
}

/** A broker administration that declares nothing (the default for brokers without the member). */
export const NO_BROKER_ADMINISTRATION: BrokerAdministrationCapabilities = Object.freeze({
  lookup: false,
  browse: false,
  deadLetters: false,
  remove: false,
  pause: false,
  cancelMarks: false,
});
