/**
 * Turns one failed task attempt into a Sentry event. Pure: no client, no network, so the shape of
 * what leaves the process can be read in one place.
 */
import type { Event, StackFrame } from '@sentry/node';
import { redact, SENSITIVE_KEYS, type TaskFailureReport } from '@tasq/core';

/** How a remote stack (a string from the worker) becomes frames; Sentry's Node stack parser in practice. */
export type StackParser = (stack: string) => StackFrame[];

/** What the event builder needs from the options. */
export interface SentryEventSettings {
  sendArgs: boolean;
  redactKeys: readonly string[];
}

/**
 * The event for `failure`.
 *
 * - The exception is the task's error as it arrived: a name, a message and a stack string that was
 *   produced in a worker process. It is plain data, so it is described field by field rather than
 *   handed to `captureException` (which would record a stack of this reporter instead).
 * - Tags are the dimensions an operator filters on: task, queue, cluster, attempt, final.
 * - The fingerprint groups by task name and error name, so one task failing with `TimeoutError`
 *   is one issue however its message varies (ids and amounts in messages would otherwise split it).
 * - An attempt that will be retried is a `warning`; the last one, after which the job is failed for
 *   good, is an `error`, so alert rules can tell "flaky" from "lost".
 * - Arguments travel only with `sendArgs`, redacted with core's keys plus `redactKeys`, even when the
 *   report already carries them.
 */
export function buildFailureEvent(
  failure: TaskFailureReport,
  settings: SentryEventSettings,
  parseStack: StackParser,
): Event {
  const { error } = failure;
  const frames = error.stack ? parseStack(error.stack) : [];
  const errorName = error.name || 'Error';

  const task: Record<string, unknown> = {
    name: failure.task,
    job_id: failure.jobId,
    queue: failure.queue,
    attempt: failure.attempt,
    final: failure.final,
    cluster: failure.cluster,
    started_at: new Date(failure.startedAt).toISOString(),
    stopped_at: new Date(failure.stoppedAt).toISOString(),
    runtime_ms: Math.max(0, failure.stoppedAt - failure.startedAt),
  };

  const event: Event = {
    level: failure.final ? 'error' : 'warning',
    platform: 'node',
    timestamp: failure.stoppedAt / 1000,
    transaction: failure.task,
    exception: {
      values: [
        {
          type: errorName,
          value: error.message,
          ...(frames.length > 0 ? { stacktrace: { frames } } : {}),
          mechanism: { type: 'tasq.task', handled: false },
        },
      ],
    },
    tags: {
      task: failure.task,
      queue: failure.queue,
      cluster: failure.cluster,
      attempt: String(failure.attempt),
      final: String(failure.final),
    },
    fingerprint: [failure.task, errorName],
    contexts: { task },
  };

  if (settings.sendArgs && failure.args !== undefined) {
    event.extra = { arguments: redact(failure.args, [...SENSITIVE_KEYS, ...settings.redactKeys]) };
  }
  return event;
}
