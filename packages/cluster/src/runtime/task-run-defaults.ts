/**
 * A task's own run settings, from its definition (`defineTask(name, { timeout, maxAttempts, ... }, fn)`).
 *
 * A client that has the task's module copies them into each package at enqueue. A producer without it
 * (`tasq enqueue`, another service, a chain link or hook the sentinel enqueues by name) sends a package
 * without them. So the workers report every task's settings when they start, and the sentinel fills in
 * what a package leaves out: a task times out, retries and dead-letters as defined, whoever enqueued it.
 * What the package carries wins (the producer chose it). `queue` and `priority` are not among them: they
 * decided where the package went, before any cluster saw it.
 */
import { type JobOptionsData, parseDurationMs, type TaskOptions, type TaskPackage } from '@tasq/core';

export type TaskRunDefaults = Pick<
  JobOptionsData,
  'timeoutMs' | 'softTimeoutMs' | 'maxAttempts' | 'ackFailure' | 'saveResult' | 'retry'
>;

const FIELDS = ['timeoutMs', 'softTimeoutMs', 'maxAttempts', 'ackFailure', 'saveResult', 'retry'] as const;

/** The run settings of one task definition; undefined when it sets none. */
export function runDefaultsOf(options: TaskOptions): TaskRunDefaults | undefined {
  const defaults: TaskRunDefaults = {};
  // An unreadable duration is refused when a client enqueues with it; here it is simply not applied.
  const timeoutMs = options.timeout === undefined ? undefined : parseDurationMs(options.timeout);
  const softTimeoutMs = options.softTimeout === undefined ? undefined : parseDurationMs(options.softTimeout);
  if (timeoutMs !== undefined) defaults.timeoutMs = timeoutMs;
  if (softTimeoutMs !== undefined) defaults.softTimeoutMs = softTimeoutMs;
  if (options.maxAttempts !== undefined) defaults.maxAttempts = options.maxAttempts;
  if (options.ackFailure !== undefined) defaults.ackFailure = options.ackFailure;
  if (options.saveResult !== undefined) defaults.saveResult = options.saveResult;
  if (options.retry !== undefined) defaults.retry = options.retry;
  return Object.keys(defaults).length > 0 ? defaults : undefined;
}

/** `pkg` with every run setting it leaves out taken from `defaults`; `pkg` itself when nothing is missing. */
export function withRunDefaults(pkg: TaskPackage, defaults: TaskRunDefaults | undefined): TaskPackage {
  if (!defaults) return pkg;
  const missing = FIELDS.filter((field) => pkg[field] === undefined && defaults[field] !== undefined);
  if (missing.length === 0) return pkg;
  return { ...pkg, ...Object.fromEntries(missing.map((field) => [field, defaults[field]])) };
}
