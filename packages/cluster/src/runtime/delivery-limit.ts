/**
 * `maxAttempts` counts deliveries, crashes included. A run that kills its cluster (or whose cluster is
 * killed under it) never reports an outcome: its package simply comes back, one delivery more. Were the
 * limit checked only when a run fails, such a job would run forever (a poison pill). So a delivery past
 * the limit is not run at all: the job fails for good, with a failure that says why.
 */
import type { TaskResult } from '@tasq/core';
import { maxAttemptsOf, type TaskPackage, taskResultOf } from '@tasq/core/internal';

/**
 * For a delivery beyond the job's `maxAttempts`, the failure that ends the job without running it;
 * undefined when the delivery may run.
 */
export function beyondMaxAttempts(
  pkg: TaskPackage,
  deliveries: number,
  options: { maxAttempts: number; now: number; saveArgs?: boolean },
): TaskResult | undefined {
  const maxAttempts = maxAttemptsOf(pkg, options.maxAttempts);
  if (maxAttempts <= 0 || deliveries <= maxAttempts) return undefined;
  const message =
    `delivered ${deliveries} times, maxAttempts is ${maxAttempts}: an earlier delivery never reported ` +
    'an outcome (the cluster or worker running it died, or its lease ran out), so it is not run again';
  return taskResultOf(
    pkg,
    {
      status: 'failure',
      error: { name: 'MaxAttemptsExceededError', message },
      startedAt: options.now,
      stoppedAt: options.now,
    },
    { deliveries, ...(options.saveArgs ? { saveArgs: true } : {}) },
  );
}
