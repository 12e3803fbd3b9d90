/**
 * The result backend's optional administration capability (`results.administration`): delete outcomes, delete a
 * group's outcomes in one call, and keep the latest progress of a running job. A backend without it
 * still works; the administration API says what it cannot do.
 */

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
}
