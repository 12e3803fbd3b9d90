/**
 * What the administration API answers about jobs: the states a job can be in and the view of one job,
 * whichever source (broker, result backend, cancel marks) the answer came from.
 */
import type { TaskErrorInfo } from '../result-backend.js';
import type { CancelMark } from './broker-administration.js';
import type { StoredProgress } from './result-administration.js';

/**
 * Every state a job can be reported in. `unknown` is the answer when no source knows the job: never a
 * guess. `scheduled` waits for its delay or eta; `retrying` waits for its next attempt.
 */
export const JOB_STATES = [
  'queued',
  'scheduled',
  'running',
  'retrying',
  'succeeded',
  'failed',
  'dead',
  'cancelled',
  'expired',
  'unknown',
] as const;

export type JobState = (typeof JOB_STATES)[number];

/** States whose jobs will not run again by themselves. */
export const FINISHED_JOB_STATES: readonly JobState[] = [
  'succeeded',
  'failed',
  'dead',
  'cancelled',
  'expired',
];

/**
 * The error name of the outcome stored for a cancelled job. A cancelled job is stored as a failure with
 * this name (the result contract keeps two statuses), so `job.result()` rejects with it and every
 * backend stores it as it stores any failure.
 */
export const CANCELLED_ERROR_NAME = 'JobCancelledError';
/** The error name of the outcome stored for a job that expired before it started. */
export const EXPIRED_ERROR_NAME = 'JobExpiredError';

/** What the message of a job stopped before it started says; `neverStarted` tells such outcomes by it. */
const BEFORE_IT_STARTED = 'before it started';

/**
 * The error stored for a job cancelled before it started, wherever that happens (taken out of its queue
 * by the administration API, met by a cluster at intake, or cancelled while it waited in a cluster's
 * buffer): one wording, which `neverStarted` recognises.
 */
export function cancelledBeforeStartError(jobId: string, reason: string): TaskErrorInfo {
  return {
    name: CANCELLED_ERROR_NAME,
    message: `job ${jobId} was cancelled ${BEFORE_IT_STARTED}: ${reason}`,
  };
}

/** Whether a cancelled outcome's error says the job never started (not a run stopped part way). */
export function saysNeverStarted(error: TaskErrorInfo | undefined): boolean {
  return (error?.message ?? '').includes(BEFORE_IT_STARTED);
}

/** Which source answered. */
export type JobViewSource = 'broker' | 'results' | 'cancel-mark' | 'cluster' | 'none';

export interface JobView {
  readonly id: string;
  readonly state: JobState;
  readonly source: JobViewSource;
  readonly queue?: string;
  readonly task?: string;
  /** Deliveries so far (broker) or the attempts the outcome took (results). */
  readonly attempts?: number;
  /** The run of the task's retry policy the queued package is (1 = first), when the package was read. */
  readonly attempt?: number;
  readonly enqueuedAt?: number;
  /** When its last run started and finished; absent for a job that never started. */
  readonly startedAt?: number;
  readonly finishedAt?: number;
  /** When a job that never started was stopped (cancelled or expired before it started). */
  readonly stoppedAt?: number;
  /** When a scheduled or retrying job becomes due. */
  readonly dueAt?: number;
  /** When it stops being allowed to start (`expires`). */
  readonly expiresAt?: number;
  readonly deadAt?: number;
  readonly deadReason?: string;
  readonly group?: string;
  /** The job whose completion enqueued this one (a chain's earlier link, a hook, a chord), while the package is read. */
  readonly parentId?: string;
  /** The task names of the chain links still to run after this job, while the package is read. */
  readonly chain?: string[];
  /** The W3C `traceparent` the job carries, while the package is read. */
  readonly traceparent?: string;
  /** source `cluster`: the live cluster that holds the job, and when it said so (epoch ms). */
  readonly heldBy?: { readonly cluster: string; readonly reportedAt: number };
  readonly progress?: StoredProgress;
  readonly cancelMark?: CancelMark;
  readonly error?: TaskErrorInfo;
  /** Only when asked for (`include.result`). */
  readonly result?: unknown;
  /** Only when asked for (`include.args`), and only where the package or the saved outcome holds them. */
  readonly args?: unknown[];
}

export interface JobViewInclude {
  args?: boolean;
  result?: boolean;
}

export interface JobListQuery {
  /** Default: the configured queue. */
  queue?: string;
  /** Default: every state the broker can browse (queued, scheduled, retrying, running). */
  state?: JobState;
  task?: string;
  /** 1..1000, default 50. */
  limit?: number;
  /** The `next` of the page before. */
  cursor?: string;
  include?: JobViewInclude;
}

export interface JobPage {
  readonly jobs: JobView[];
  /** Absent on the last page. */
  readonly next?: string;
}

/** What `cancel` did. */
export interface CancelOutcome {
  readonly id: string;
  /**
   * `cancelled`: taken out before it started and stored as cancelled. `cancelling`: it is running (or
   * was being reserved); the mark is set and running clusters abort it. `marked`: the broker cannot say
   * where the job is; the mark stops it on every cluster that checks marks before starting a job.
   */
  readonly outcome: 'cancelled' | 'cancelling' | 'marked';
}

export interface RequeueOutcome {
  /** Job ids put back on their queue. */
  readonly requeued: string[];
  /** Job ids asked for that were not dead letters (already requeued by someone else, or never dead). */
  readonly notDead: string[];
}

/** A queue's counts and pause flag. */
export interface QueueStatus {
  readonly queue: string;
  readonly ready: number;
  readonly delayed?: number;
  readonly reserved?: number;
  readonly dead?: number;
  /** Undefined when the broker keeps no pause flags. */
  readonly paused?: boolean;
}
