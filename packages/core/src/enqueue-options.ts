/**
 * The enqueue options an application passes, and how they become the per-job settings a package and a
 * carried signature hold (the table in job-options.ts), with the checks that name a caller's mistake.
 */
import type { Duration } from './duration.js';
import { InvalidArgumentError } from './errors.js';
import { jobOptionFields, jobOptionsOf, taskDefaultOptions } from './job-options.js';
import type { Task } from './task.js';
import type { JobOptionsData, RetryPolicy } from './task-package.js';

/** Options every enqueue takes. */
export interface EnqueueJobOptions {
  queue?: string;
  /** Run no sooner than this from now. */
  delay?: Duration;
  /** Run no sooner than this time. */
  eta?: Date | number;
  /** 0-9, higher first (brokers with priorities only). */
  priority?: number;
  /** Put the job in a group; `tasq.groupResults(group)` collects the results. */
  group?: string;
  /** A task run with this job's TaskResult when it finishes. */
  hook?: Task<any, any> | string;
  timeout?: Duration;
  softTimeout?: Duration;
  maxAttempts?: number;
  ackFailure?: boolean;
  saveResult?: boolean;
  retry?: RetryPolicy;
  /** Job id, used as an idempotency key: a second enqueue with the same id is not sent again. */
  id?: string;
  /** Not started by then (a date, or a duration from now): not run, stored as expired. */
  expires?: Date | Duration;
}

export function withTaskDefaults(task: Task<any, any>, options: EnqueueJobOptions): EnqueueJobOptions {
  // Checked before merging: spreading a string or a list would turn it into an object of indexes.
  checkEnqueueOptions(task.name, options);
  return {
    ...(taskDefaultOptions(task.options as Record<string, unknown>) as EnqueueJobOptions),
    // `expires` is dated when the job is enqueued (now + the duration) and never carried by a signature,
    // so it is not one of the table's job options.
    ...(task.options.expires !== undefined ? { expires: task.options.expires } : {}),
    ...options,
  };
}

/** What a carried signature keeps of the caller's options: when and as what the canvas starts is not. */
export type TravellingOptions = Omit<EnqueueJobOptions, 'delay' | 'eta' | 'id' | 'group' | 'expires'>;

/**
 * The per-job settings of enqueue options, as a package and a carried signature hold them (the table
 * in job-options.ts): durations in milliseconds, the hook by name, unset ones left out.
 */
export function toJobOptions(options: TravellingOptions, where = 'enqueue options'): JobOptionsData {
  return jobOptionFields(options as Record<string, unknown>, where);
}

export function fromJobOptions(options: JobOptionsData | undefined): EnqueueJobOptions {
  return jobOptionsOf(options) as EnqueueJobOptions;
}

export function checkArguments(name: string, args: unknown): void {
  if (!Array.isArray(args)) {
    throw new InvalidArgumentError(`the arguments of ${name} must be a list, got ${describeValue(args)}`);
  }
}

export function checkEnqueueOptions(name: string, options: unknown): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError(
      `the enqueue options of ${name} must be an object, got ${describeValue(options)}`,
    );
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}
