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
import type { TaskOptions } from '@tasq/core';
import {
  type JobOptionsData,
  RUN_OPTION_FIELDS,
  runFieldsOfTask,
  type TaskPackage,
} from '@tasq/core/internal';

/** The run settings of a package (the options that travel as `run` in core's job-options table). */
export type TaskRunDefaults = Pick<JobOptionsData, (typeof RUN_OPTION_FIELDS)[number]>;

/** The run settings of one task definition; undefined when it sets none. */
export function runDefaultsOf(options: TaskOptions): TaskRunDefaults | undefined {
  const defaults = runFieldsOfTask(options as Record<string, unknown>) as TaskRunDefaults;
  return Object.keys(defaults).length > 0 ? defaults : undefined;
}

/** `pkg` with every run setting it leaves out taken from `defaults`; `pkg` itself when nothing is missing. */
export function withRunDefaults(pkg: TaskPackage, defaults: TaskRunDefaults | undefined): TaskPackage {
  if (!defaults) return pkg;
  const missing = RUN_OPTION_FIELDS.filter(
    (field) => pkg[field] === undefined && defaults[field] !== undefined,
  );
  if (missing.length === 0) return pkg;
  return { ...pkg, ...Object.fromEntries(missing.map((field) => [field, defaults[field]])) };
}
