/**
 * `@tasq/core/internal`: the runtime's parts shared by the @tasq/* packages (the cluster, the dashboard,
 * the broker packages, the docs generator). Not for applications nor for third-party backends: these
 * names change with the runtime, with no semver promise. Applications import `@tasq/core`; backend
 * authors import `@tasq/core/backend`.
 */
export {
  openRuntimeServices,
  type RuntimeServices,
  type RuntimeServicesOptions,
  runtimeServicesOf,
} from './runtime-services.js';
export { defaultRegistry } from './task.js';
export { assertTaskPackage, type SignatureData, type TaskPackage, TaskPackageCodec } from './task-package.js';
export type { JobOptionsData } from './job-options.js';
export {
  JOB_OPTIONS,
  type JobOptionSpec,
  type OptionTravel,
  RUN_OPTION_FIELDS,
  runFieldsOfTask,
} from './job-options.js';
export { type CanvasFailure, chordClaimKey, type FollowUp, followUps, toSignatureData } from './canvas.js';

export { canRetry, retryDelayMs } from './lifecycle/backoff.js';
export {
  cancelledRunResult,
  decideAfterFailedStep,
  decideOutcome,
  maxAttemptsOf,
  type OutcomeAction,
  type OutcomeDecision,
  type OutcomeInput,
  type OutcomeSettings,
} from './lifecycle/decide.js';
export {
  type ExecuteOptions,
  executeTask,
  type RunOutcome,
  runTask,
  taskResultOf,
  toErrorInfo,
} from './execute.js';
export { ResultSaveCoalescer, type WriteResultBatch } from './result-save-coalescer.js';
export { type RetryWhileUnreachableOptions, retryWhileUnreachable } from './retry-unreachable.js';

export { Scheduler, type SchedulerOptions } from './schedule/scheduler.js';
export { withPaused } from './schedule/pause.js';

export { FrameCodec, type FrameCodecOptions, keyIdOf } from './codec/package-codec.js';
export { configSchemas } from './config/schema.js';
export { toEnvName } from './config/resolve.js';
export { importFromApplication, loadBrokerPlugin, loadErrorReporter } from './load-plugin.js';
export { controlChannel, eventsChannel } from './events.js';
export { parseRate, parseSizeBytes } from './duration.js';
export { EVERY_INTERFACE, type ListenAddress, parseListenAddress } from './listen-address.js';
export { isNodeTooOld, MINIMUM_NODE_VERSION, nodeVersionMessage } from './node-version.js';
export { currentTraceparent, parseTraceparent, runInTaskSpan } from './trace-context.js';
export {
  type AdministrationClient,
  type AdministrationSources,
  stateOfResult,
} from './admin/administration.js';
export { checkProgress, PROGRESS_FLUSH_MS, ProgressBuffer } from './admin/progress.js';
export { cancelledBeforeStartError } from './admin/job-view.js';
export type { HeldJob, HeldJobsSource } from './admin/held-jobs.js';
export { type MarksKeeper, marksKeeper, withResultMarks } from './admin/result-marks.js';
