/**
 * The result backend's optional administration capability (`results.administration`): delete outcomes, delete a
 * group's outcomes in one call, keep the latest progress of a running job, and keep the operator's pause
 * flags and cancel marks for a broker that has no place of its own for them. A backend without it still
 * works; the administration API says what it cannot do.
 */
import type { CancelMark } from './broker-administration.js';

/** A job's latest progress: a number or a small JSON object (at most `MAX_PROGRESS_BYTES` as JSON). */
export type ProgressValue = number | { readonly [key: string]: unknown };

/** The largest progress value, as JSON text, in bytes. */
export const MAX_PROGRESS_BYTES = 1024;

export interface StoredProgress {
  readonly value: ProgressValue;
  /** Epoch ms it was reported. */
  readonly at: number;
}

export interface ResultAdministrationCapabilities {
  /** `delete`, `deleteGroup`. */
  readonly delete: boolean;
  /** `saveProgress`, `progress`. */
  readonly progress: boolean;
  /**
   * `setPaused`, `pausedQueues`, `markCancelled`, `cancelMarks`, `clearCancelMarks`: the same methods,
   * with the same promises, as the broker capabilities `pause` and `cancelMarks`. Used only for a broker
   * that declares neither (RabbitMQ, SQS): see `withResultMarks`. Absent means false.
   */
  readonly marks?: boolean;
}

export interface ResultAdministration {
  readonly capabilities: ResultAdministrationCapabilities;
  /** delete: drop the stored outcomes (and progress) of these jobs; returns how many outcomes were dropped. */
  delete?(ids: readonly string[]): Promise<number>;
  /** delete: drop every stored outcome of a group; returns how many. */
  deleteGroup?(group: string): Promise<number>;
  /**
   * progress: store the latest progress of a job, replacing the one before. Kept until the job's outcome
   * is deleted or pruned, or for the backend's time to live when it has one.
   */
  saveProgress?(id: string, progress: StoredProgress): Promise<void>;
  /** progress: the latest progress of a job, or undefined. */
  progress?(id: string): Promise<StoredProgress | undefined>;

  /** marks: set or clear the pause flag of `queue` (as `BrokerAdministration.setPaused`). */
  setPaused?(queue: string, paused: boolean): Promise<void>;
  /** marks: every paused queue, in one read. */
  pausedQueues?(): Promise<string[]>;
  /** marks: persist a cancel mark; setting it again keeps the first. */
  markCancelled?(jobId: string, reason: string): Promise<void>;
  /** marks: the marks among `jobIds`, in one read. */
  cancelMarks?(jobIds: readonly string[]): Promise<CancelMark[]>;
  /** marks: drop marks; returns how many were dropped. */
  clearCancelMarks?(jobIds: readonly string[]): Promise<number>;
}
