/**
 * Delays for a task's own retry policy: fixed, or exponential (delay × 2^(attempt-1), capped), each
 * optionally spread by ±jitter so many jobs failing together do not come back together.
 */
import type { RetryPolicy } from '../task-package.js';

/** The delay before run `nextAttempt` (2 = first retry). `random` returns [0, 1). */
export function retryDelayMs(
  policy: RetryPolicy,
  nextAttempt: number,
  random: () => number = Math.random,
): number {
  const backoff = policy.backoff;
  if (!backoff) return 0;
  let delay =
    backoff.type === 'exponential' ? backoff.delayMs * 2 ** Math.max(0, nextAttempt - 2) : backoff.delayMs;
  if (backoff.maxDelayMs !== undefined) delay = Math.min(delay, backoff.maxDelayMs);
  const jitter = Math.min(1, Math.max(0, backoff.jitter ?? 0));
  if (jitter > 0) delay = delay * (1 - jitter + 2 * jitter * random());
  return Math.max(0, Math.round(delay));
}

/** True when the policy allows another run after `attempt` runs. */
export function canRetry(policy: RetryPolicy | undefined, attempt: number): policy is RetryPolicy {
  return policy !== undefined && attempt < policy.attempts;
}
