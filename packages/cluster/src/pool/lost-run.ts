/** The stored failure of a run whose worker ended under it: its own timeout, the memory ceiling, or a loss. */
import type { TaskResult } from '@tasq/core';
import type { HeldPackage } from '../runtime/held-package.js';

export interface LostRun {
  result: TaskResult;
  /** The worker died for a reason that is not this run's own (kill -9, a neighbour's timeout). */
  workerLost: boolean;
}

export function lostRunOf(
  entry: HeldPackage,
  now: number,
  exit: { code: number | null; signal: string | null },
): LostRun {
  const failure = (name: string, message: string): TaskResult => ({
    id: entry.pkg.id,
    name: entry.pkg.name,
    queue: entry.pkg.queue,
    status: 'failure',
    error: { name, message },
    attempts: entry.delivery.deliveries,
    enqueuedAt: entry.pkg.enqueuedAt,
    startedAt: entry.startedAt ?? now,
    stoppedAt: now,
    ...(entry.pkg.group !== undefined ? { group: entry.pkg.group } : {}),
    ...(entry.pkg.groupIndex !== undefined ? { groupIndex: entry.pkg.groupIndex } : {}),
  });
  if (entry.cancelled && entry.timedOutAfterMs === undefined && entry.memoryExceeded === undefined) {
    // Killed for the cancel (after its grace) or lost meanwhile: the cancel is what ended the job.
    return {
      result: failure(
        'TaskTimeoutError',
        `the task did not stop within ${entry.cancelled.graceMs ?? 0} ms of its cancel; its worker was killed`,
      ),
      workerLost: false,
    };
  }
  if (entry.timedOutAfterMs !== undefined) {
    return {
      result: failure(
        'TaskTimeoutError',
        `the task ran past its timeout of ${entry.timedOutAfterMs} ms; its worker was killed`,
      ),
      workerLost: false,
    };
  }
  if (entry.memoryExceeded) {
    const { rssBytes, limitBytes } = entry.memoryExceeded;
    return {
      result: failure(
        'WorkerMemoryError',
        `the worker's memory reached ${mb(rssBytes)} MB, past the hard ceiling of ${mb(limitBytes)} MB; it was killed`,
      ),
      workerLost: false,
    };
  }
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  return { result: failure('WorkerLostError', `the worker running the task ${how}`), workerLost: true };
}

function mb(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}
