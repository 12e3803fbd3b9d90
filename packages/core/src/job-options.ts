/**
 * Every per-job option, defined once: its name where an application sets it (a task's defaults, an
 * enqueue), its field and unit in a package, how it is checked, what applies when it is left out, and
 * how it travels. The client (task defaults, enqueue, carried signatures), the package check and the
 * cluster (run settings a package leaves out) read this table; none lists the options by hand.
 *
 * How an option travels:
 * - `route`: decides where the package goes (queue, priority); read by the client and the broker only.
 * - `run`: read by the runtime for each run; a producer without the task's module leaves it out, and
 *   the cluster fills it in from the task's own definition as its workers reported it.
 * - `follow-up`: what the runtime sends when the job is over (the hook).
 */
import { durationMs } from './duration.js';
import { InvalidArgumentError } from './errors.js';

/** How a task's own failures are retried: re-enqueued with a delay, `attempts` times at most. */
export interface RetryPolicy {
  /** Total runs allowed, the first included. */
  attempts: number;
  backoff?: {
    type: 'fixed' | 'exponential';
    /** First delay (fixed: every delay). */
    delayMs: number;
    /** Cap for exponential growth. */
    maxDelayMs?: number;
    /** Randomize each delay by up to ±this fraction (0..1), so retries of many jobs spread out. */
    jitter?: number;
  };
}

/** The per-job options that travel with a package (all optional; the cluster's config fills the rest). */
export interface JobOptionsData {
  queue?: string;
  priority?: number;
  timeoutMs?: number;
  softTimeoutMs?: number;
  maxAttempts?: number;
  ackFailure?: boolean;
  saveResult?: boolean;
  retry?: RetryPolicy;
  /** A task name run with this job's TaskResult when it finishes (success or failure). */
  hook?: string;
}

export type OptionTravel = 'route' | 'run' | 'follow-up';

export interface JobOptionSpec<
  O extends string = string,
  F extends keyof JobOptionsData = keyof JobOptionsData,
> {
  /** Its name in task options and enqueue options. */
  option: O;
  /** Its field in a package (and in a carried signature). */
  field: F;
  travels: OptionTravel;
  /** A task's definition may set it as a default for its jobs. */
  taskDefault: boolean;
  /** What applies when neither the enqueue nor the task sets it (for the documentation and errors). */
  whenUnset: string;
  /** The package's value for an option value; throws an error naming the option when it is unusable. */
  toField(value: unknown, where: string): JobOptionsData[F];
  /** Back from a package's field to an option value (a carried signature re-enqueued). */
  toOption(value: JobOptionsData[F]): unknown;
}

const same = (value: unknown) => value;

function typed<T>(check: (value: unknown) => boolean, what: string) {
  return (option: string) =>
    (value: unknown, where: string): T => {
      if (!check(value)) {
        throw new InvalidArgumentError(
          `${where}: ${option} must be ${what}, got ${JSON.stringify(value) ?? String(value)}`,
        );
      }
      return value as T;
    };
}

const aString = typed<string>((v) => typeof v === 'string', 'a string');
const aNumber = typed<number>((v) => typeof v === 'number' && Number.isFinite(v), 'a number');
const aCount = typed<number>(
  (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0,
  'a whole number ≥ 0',
);
const aBoolean = typed<boolean>((v) => typeof v === 'boolean', 'true or false');
const aPolicy = typed<RetryPolicy>(
  (v) => typeof v === 'object' && v !== null && typeof (v as RetryPolicy).attempts === 'number',
  'a retry policy ({ attempts, backoff? })',
);

/** A duration option: seconds, or a string with its unit; stored in milliseconds. */
function duration(option: string) {
  return (value: unknown, _where: string): number => durationMs(value as string | number, option);
}

export const JOB_OPTIONS = [
  {
    option: 'queue',
    field: 'queue',
    travels: 'route',
    taskDefault: true,
    whenUnset: "the configuration's queue",
    toField: aString('queue'),
    toOption: same,
  },
  {
    option: 'priority',
    field: 'priority',
    travels: 'route',
    taskDefault: true,
    whenUnset: '0',
    toField: aNumber('priority'),
    toOption: same,
  },
  {
    option: 'timeout',
    field: 'timeoutMs',
    travels: 'run',
    taskDefault: true,
    whenUnset: "the configuration's timeout (none by default)",
    toField: duration('timeout'),
    toOption: (ms) => `${ms}ms`,
  },
  {
    option: 'softTimeout',
    field: 'softTimeoutMs',
    travels: 'run',
    taskDefault: true,
    whenUnset: "the configuration's softTimeout (none by default)",
    toField: duration('softTimeout'),
    toOption: (ms) => `${ms}ms`,
  },
  {
    option: 'maxAttempts',
    field: 'maxAttempts',
    travels: 'run',
    taskDefault: true,
    whenUnset: "the configuration's maxAttempts (0, unlimited, by default)",
    toField: aCount('maxAttempts'),
    toOption: same,
  },
  {
    option: 'ackFailure',
    field: 'ackFailure',
    travels: 'run',
    taskDefault: true,
    whenUnset: "the configuration's ackFailures (false by default)",
    toField: aBoolean('ackFailure'),
    toOption: same,
  },
  {
    option: 'saveResult',
    field: 'saveResult',
    travels: 'run',
    taskDefault: true,
    whenUnset: 'true (saveLimit decides how many are kept)',
    toField: aBoolean('saveResult'),
    toOption: same,
  },
  {
    option: 'retry',
    field: 'retry',
    travels: 'run',
    taskDefault: true,
    whenUnset: 'no retry policy: a failure is redelivered after `retry` until maxAttempts',
    toField: aPolicy('retry'),
    toOption: same,
  },
  {
    option: 'hook',
    field: 'hook',
    travels: 'follow-up',
    taskDefault: false,
    whenUnset: 'no hook',
    toField: (value: unknown, where: string) =>
      typeof value === 'object' && value !== null && typeof (value as { name?: unknown }).name === 'string'
        ? (value as { name: string }).name
        : aString('hook')(value, where),
    toOption: same,
  },
] as const satisfies readonly JobOptionSpec<string, keyof JobOptionsData>[];

/** Every package field of the per-job options is in the table (a compile-time check). */
type Listed = (typeof JOB_OPTIONS)[number]['field'];
const everyFieldListed: Record<Exclude<keyof JobOptionsData, Listed>, never> = {};
void everyFieldListed;

/** The package fields the runtime reads for each run (filled in from a task's definition when left out). */
export const RUN_OPTION_FIELDS = JOB_OPTIONS.filter((spec) => spec.travels === 'run').map(
  (spec) => spec.field,
);

/** Package fields that hold numbers. */
export const NUMERIC_OPTION_FIELDS = ['priority', 'timeoutMs', 'softTimeoutMs', 'maxAttempts'] as const;

/** The package fields for the options set in `options`, checked; unset ones left out. */
export function jobOptionFields(options: Record<string, unknown>, where: string): JobOptionsData {
  const data: Record<string, unknown> = {};
  for (const spec of JOB_OPTIONS) {
    const value = options[spec.option];
    if (value !== undefined) data[spec.field] = spec.toField(value, where);
  }
  return data as JobOptionsData;
}

/** Options from a package's (or carried signature's) fields. */
export function jobOptionsOf(data: JobOptionsData | undefined): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  if (!data) return options;
  for (const spec of JOB_OPTIONS) {
    const value = data[spec.field];
    if (value !== undefined) options[spec.option] = (spec.toOption as (v: unknown) => unknown)(value);
  }
  return options;
}

/** A task's own defaults, as enqueue options (only those a task may set). */
export function taskDefaultOptions(defaults: Record<string, unknown>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const spec of JOB_OPTIONS) {
    if (spec.taskDefault && defaults[spec.option] !== undefined) options[spec.option] = defaults[spec.option];
  }
  return options;
}

/**
 * The run settings of a task's definition, as package fields; an unreadable value is left out (it is
 * refused where a client enqueues with it).
 */
export function runFieldsOfTask(defaults: Record<string, unknown>): Partial<JobOptionsData> {
  const data: Record<string, unknown> = {};
  for (const spec of JOB_OPTIONS) {
    const value = defaults[spec.option];
    if (spec.travels !== 'run' || value === undefined) continue;
    try {
      data[spec.field] = spec.toField(value, 'task defaults');
    } catch {
      // Not applied here; the client names the problem when it enqueues with it.
    }
  }
  return data as Partial<JobOptionsData>;
}
