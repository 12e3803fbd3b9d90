export * from './broker.js';
export * from './broker-client.js';
export * from './canvas.js';
export * from './client.js';
export * from './clock.js';
export {
  builtInCompressors,
  type Compressor,
  MAX_DECOMPRESSED_BYTES,
  zstdCompressor,
} from './codec/compressors.js';
export {
  decodeJsonValue,
  decodeStoredValue,
  encodeJsonValue,
  encodeStoredValue,
} from './codec/json-value.js';
export { FORMAT_VERSION, FrameCodec, type FrameCodecOptions, keyIdOf } from './codec/package-codec.js';
export { jsonSerializer, msgpackSerializer, type Serializer } from './codec/serializers.js';
export { CONFIG_FILE_NAMES, findConfigFile, loadConfig, readConfigFile } from './config/load.js';
export {
  applyEnvironment,
  type BrokerSelection,
  type ConfiguredSchedule,
  type DashboardSettings,
  INSECURE_DEVELOPMENT_SECRET,
  type ResolvedConfig,
  resolveConfig,
  toEnvName,
} from './config/resolve.js';
export { configSchemas, type TasqConfigInput } from './config/schema.js';
export { DEFAULT_DEPLOYMENT, deploymentSegment, type SegmentRules } from './deployment.js';
export * from './duration.js';
export * from './error-reporter.js';
export * from './errors.js';
export * from './events.js';
export * from './execute.js';
export { uuidv7, uuidv7Time } from './ids.js';
export {
  JOB_OPTIONS,
  type JobOptionSpec,
  type OptionTravel,
  RUN_OPTION_FIELDS,
  runFieldsOfTask,
} from './job-options.js';
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
export * from './load-plugin.js';
export * from './logger.js';
export { EVERY_INTERFACE, type ListenAddress, parseListenAddress } from './listen-address.js';
export { isNodeTooOld, MINIMUM_NODE_VERSION, nodeVersionMessage } from './node-version.js';
export { networkErrorCode, networkFailureCause, withoutPassword } from './network-failure.js';
export { MemoryBroker, type MemoryBrokerOptions, MemoryBrokerStore } from './memory/memory-broker.js';
export { MemoryResultBackend, MemoryResultStore } from './memory/memory-result-backend.js';
export { MemoryScheduleState, MemoryScheduleStore } from './memory/memory-schedule-store.js';
export * from './plugin.js';
export * from './pubsub.js';
export * from './rate-limiter.js';
export * from './retry-unreachable.js';
export type { RuntimeServices } from './runtime-services.js';
export { MemoryPubSub, MemoryPubSubHub } from './memory/memory-pubsub.js';
export * from './result-backend.js';
export { ResultSaveCoalescer, type WriteResultBatch } from './result-save-coalescer.js';
export * from './schedule-store.js';
export { CronSyntaxError, nextCronWall, parseCron } from './schedule/cron.js';
export { advance, firstSlot, slotAfter } from './schedule/next-run.js';
export { withPaused } from './schedule/pause.js';
export { defineSchedule, type ScheduleOptions } from './schedule/schedule-definition.js';
export { Scheduler, type SchedulerOptions } from './schedule/scheduler.js';
export { assertTimeZone, fromWall, toWall } from './schedule/time-zone.js';
export * from './task.js';
export * from './task-package.js';
export { currentTraceparent, parseTraceparent, runInTaskSpan } from './trace-context.js';

/** Define a configuration with type checking: `export default defineConfig({ ... })` in tasq.config.ts. */
export function defineConfig(config: import('./config/schema.js').TasqConfigInput) {
  return config;
}
export * from './admin/administration.js';
export * from './admin/broker-administration.js';
export * from './admin/dead-letter-page.js';
export * from './admin/errors.js';
export * from './admin/held-jobs.js';
export * from './admin/job-view.js';
export { packageLabel } from './admin/package-label.js';
export * from './admin/progress.js';
export * from './admin/query-checks.js';
export * from './admin/result-administration.js';
export * from './admin/result-marks.js';
