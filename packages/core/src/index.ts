/**
 * `@tasq/core`: what an application calls. Tasks and their signatures, the client (`connect`), canvas
 * (chain, group, chord), schedules, configuration, the errors an application catches, the job
 * administration API and its views, durations, the events a subscriber receives, the logger interface.
 *
 * Broker, result-backend, schedule-store and pub/sub authors import from `@tasq/core/backend`; the
 * runtime's internals, shared by the @tasq/* packages, are at `@tasq/core/internal` (no semver promise).
 */
export {
  type ChainResult,
  type ConnectOptions,
  connect,
  type EnqueueJobOptions,
  GroupHandle,
  Job,
  Tasq,
} from './client.js';
export {
  currentTask,
  defineTask,
  type ParametersAfterFirst,
  Signature,
  type Task,
  type TaskArguments,
  type TaskContext,
  type TaskOptions,
  TaskRegistry,
} from './task.js';
export type { RetryPolicy } from './job-options.js';
export { ChainFailedError, ChordFailedError } from './canvas.js';

export {
  CONFIG_FILE_NAMES,
  findConfigFile,
  type LoadConfigOptions,
  loadConfig,
  readConfigFile,
} from './config/load.js';
export {
  type BrokerSelection,
  type ConfiguredSchedule,
  type DashboardSettings,
  type ResolvedConfig,
  type ResolveOptions,
  resolveConfig,
} from './config/resolve.js';
export type { TasqConfigInput } from './config/schema.js';

/** Define a configuration with type checking: `export default defineConfig({ ... })` in tasq.config.ts. */
export function defineConfig(config: import('./config/schema.js').TasqConfigInput) {
  return config;
}

export { defineSchedule, type ScheduleOptions } from './schedule/schedule-definition.js';
export { SCHEDULE_KINDS, type ScheduleKind, type ScheduleRecord } from './schedule-store.js';
export { CronSyntaxError } from './schedule/cron.js';

export {
  BrokerConnectionError,
  BrokerError,
  CapabilityError,
  ConfigError,
  DuplicateTaskError,
  InvalidArgumentError,
  PackageRejectedError,
  type PackageRejectionReason,
  PackageTooLargeError,
  ResultTimeoutError,
  TaskArgumentsError,
  TaskFailedError,
  TasqError,
  UnknownTaskError,
} from './errors.js';
export { JobStateError, UnknownJobError, UnsupportedOperationError } from './admin/errors.js';

export { Administration, type AdministrationSupport } from './admin/administration.js';
export {
  CANCELLED_ERROR_NAME,
  type CancelOutcome,
  EXPIRED_ERROR_NAME,
  FINISHED_JOB_STATES,
  JOB_STATES,
  type JobListQuery,
  type JobPage,
  type JobState,
  type JobView,
  type JobViewInclude,
  type JobViewSource,
  type QueueStatus,
  type RequeueOutcome,
} from './admin/job-view.js';
export type { ProgressValue } from './admin/result-administration.js';
export { MAX_LIST_LIMIT } from './admin/query-checks.js';
export type { TaskErrorInfo, TaskResult, TaskStatus } from './result-backend.js';

export { type Duration, durationMs, parseDurationMs } from './duration.js';
export type {
  ClusterEvent,
  DashboardActionEvent,
  TaskEvent,
  TasqEvent,
  TasqEventType,
  WorkerEvent,
} from './events.js';
export type { BrokerCallEvent, BrokerOperation } from './broker-client.js';
export { type Logger, silentLogger } from './logger.js';
export { type Clock, ManualClock, systemClock } from './clock.js';
export {
  defineErrorReporter,
  type ErrorReporter,
  type ErrorReporterContext,
  type ErrorReporterFactory,
  redact,
  SENSITIVE_KEYS,
  type TaskFailureReport,
} from './error-reporter.js';
