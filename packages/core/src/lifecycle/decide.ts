/**
 * The job lifecycle: what happens to a delivery once its run is over, decided here and nowhere else,
 * for the cluster (the monitor carries the decision out) and for sync mode (the client does) alike.
 * Pure: tests check the table directly.
 *
 *   success                                   → save (unless saveResult/saveLimit say no; chord members
 *                                               always), ack, follow-ups
 *   failure that can never succeed            → save, dead-letter at once, follow-ups
 *     (task unknown here, arguments that do not fit the task)
 *   failure, task retry policy has runs left  → re-enqueue with backoff, ack this delivery
 *   failure, ackFailure / ackFailures         → save, ack, follow-ups
 *   failure, deliveries ≥ maxAttempts (> 0)   → save, dead-letter with the reason, follow-ups
 *   worker crashed under it (not its timeout) → release at once (or dead-letter at maxAttempts)
 *   delivered beyond maxAttempts (not run)    → save the failure, dead-letter with its reason, follow-ups
 *   cancelled or expired before it started    → save (JobCancelledError / JobExpiredError), ack; no
 *     (not run)                                 follow-ups: the job's chain and hook are cancelled with it
 *   cancelled while it ran, however the run   → save as JobCancelledError (`cancelledRunResult`), ack;
 *     ended (aborted, returned anyway, killed     never retried or dead-lettered, no follow-ups: a task
 *     after the grace)                            that catches the abort and returns is still cancelled
 *   other failure                             → release after `retry` (the reference's redelivery), saved
 *                                               only when maxAttempts is 0, since no run is ever final then
 *
 * Carrying a decision out can fail part way; `decideAfterFailedStep` says what happens then.
 */
import { isChordMember } from '../chord.js';
import type { TaskPackage } from '../task-package.js';
import type { TaskResult } from '../result-backend.js';
import { CANCELLED_ERROR_NAME } from '../admin/job-view.js';
import { canRetry, retryDelayMs } from './backoff.js';

export type OutcomeAction =
  | { kind: 'ack' }
  | { kind: 'release'; delayMs: number; reason: string }
  | { kind: 'dead-letter'; reason: string }
  | { kind: 'retry'; attempt: number; delayMs: number };

export interface OutcomeDecision {
  action: OutcomeAction;
  /** Store `result` in the result backend. */
  save: boolean;
  /** The run is the job's last: hooks, the next chain link and chord bookkeeping follow. */
  final: boolean;
}

export interface OutcomeSettings {
  maxAttempts: number;
  ackFailures: boolean;
  saveLimit: number;
  retryMs: number;
}

export interface OutcomeInput {
  pkg: TaskPackage;
  result: TaskResult;
  deliveries: number;
  /** The worker died under this run for a reason that is not this run's own (a neighbour's timeout, kill -9). */
  workerLost?: boolean | undefined;
  /** Delivered more times than maxAttempts allows: not run; `result` is the failure that says so. */
  beyondMaxAttempts?: boolean | undefined;
  /** Not run: a cancel mark or its expiry stopped it before it started; `result` says which. */
  notStarted?: 'cancelled' | 'expired' | undefined;
  /** An operator cancelled the job while it ran (its signal was aborted, or its worker killed after the grace). */
  cancelledWhileRunning?: boolean | undefined;
  random?: () => number;
}

/** Failures that no later run can turn into a success: they end the job at once. */
const NEVER_SUCCEEDS = new Set(['UnknownTaskError', 'TaskArgumentsError']);

/** The attempts a job may use: its package's own `maxAttempts`, else the configuration's. 0 = unlimited. */
export function maxAttemptsOf(pkg: TaskPackage, configured: number): number {
  return pkg.maxAttempts ?? configured;
}

export function decideOutcome(input: OutcomeInput, settings: OutcomeSettings): OutcomeDecision {
  const { pkg, result, deliveries } = input;
  // A chord's callback is built from its members' stored results: a member's result is saved whatever
  // saveLimit and saveResult say, or the callback would never run.
  const saveSuccess = isChordMember(pkg) || (pkg.saveResult !== false && settings.saveLimit !== -1);
  if (input.cancelledWhileRunning) return { action: { kind: 'ack' }, save: true, final: false };
  if (result.status === 'success') return { action: { kind: 'ack' }, save: saveSuccess, final: true };

  const error = result.error ?? { name: 'Error', message: 'failed' };
  if (input.notStarted) return { action: { kind: 'ack' }, save: true, final: false };
  if (input.beyondMaxAttempts) {
    return { action: { kind: 'dead-letter', reason: error.message }, save: true, final: true };
  }
  const described = `${error.name}: ${error.message}`;
  const maxAttempts = maxAttemptsOf(pkg, settings.maxAttempts);
  const exhausted = maxAttempts > 0 && deliveries >= maxAttempts;

  if (input.workerLost) {
    if (exhausted) {
      return {
        action: {
          kind: 'dead-letter',
          reason: `failed after ${plural(deliveries, 'attempt')}: ${described}`,
        },
        save: true,
        final: true,
      };
    }
    return { action: { kind: 'release', delayMs: 0, reason: described }, save: false, final: false };
  }
  if (NEVER_SUCCEEDS.has(error.name)) {
    return { action: { kind: 'dead-letter', reason: described }, save: true, final: true };
  }
  const attempt = pkg.attempt ?? 1;
  if (canRetry(pkg.retry, attempt) && !exhausted) {
    return {
      action: {
        kind: 'retry',
        attempt: attempt + 1,
        delayMs: retryDelayMs(pkg.retry, attempt + 1, input.random),
      },
      save: false,
      final: false,
    };
  }
  if (pkg.ackFailure ?? settings.ackFailures) return { action: { kind: 'ack' }, save: true, final: true };
  if (exhausted || (pkg.retry !== undefined && !canRetry(pkg.retry, attempt))) {
    const runs = pkg.retry !== undefined ? Math.max(attempt, deliveries) : deliveries;
    return {
      action: { kind: 'dead-letter', reason: `failed after ${plural(runs, 'attempt')}: ${described}` },
      save: true,
      final: true,
    };
  }
  return {
    action: { kind: 'release', delayMs: settings.retryMs, reason: described },
    save: maxAttempts === 0,
    final: false,
  };
}

/**
 * A step of carrying out a decision failed:
 * - `save`: the result backend did not take the result (an unstorable value is decided anew first, as
 *   a failure that says why, by the caller);
 * - `follow-ups`: the hook, next chain link or chord callback could not be sent (acked, the job would
 *   take them with it);
 * - `retry`: the retry's package could not be enqueued.
 * The job is released to run again, and that run does the step: nothing is lost, and follow-ups keep
 * their ids, so none goes out twice. The result is not saved and the run is not final.
 */
export function decideAfterFailedStep(
  step: 'save' | 'follow-ups' | 'retry',
  decision: OutcomeDecision,
  error: unknown,
): OutcomeDecision {
  const message = (error as Error)?.message ?? String(error);
  if (step === 'retry') {
    const delayMs = decision.action.kind === 'retry' ? decision.action.delayMs : 0;
    return {
      action: { kind: 'release', delayMs, reason: `enqueueing the retry: ${message}` },
      save: false,
      final: false,
    };
  }
  const reason = step === 'save' ? `result backend: ${message}` : `follow-ups: ${message}`;
  return { action: { kind: 'release', delayMs: 1_000, reason }, save: false, final: false };
}

/**
 * What is stored for a run an operator cancelled: however it ended (an AbortError, a value returned
 * after the abort, its worker killed after the grace), the cancel is what the job ended by.
 */
export function cancelledRunResult(result: TaskResult, reason: string): TaskResult {
  const { result: _value, ...rest } = result;
  const cause = result.error
    ? ` (the run ended with ${result.error.name}: ${result.error.message})`
    : ' (the run returned after its signal was aborted; its value is not kept)';
  return {
    ...rest,
    status: 'failure',
    error: {
      name: CANCELLED_ERROR_NAME,
      message: `job ${result.id} was cancelled while it ran: ${reason}${cause}`,
    },
  };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
