/**
 * `@tasq/core/backend`: what a broker, result-backend, schedule-store or pub/sub author needs. The
 * contracts and their capability types, the administration contracts with the checks and paging helpers
 * every implementation calls, the stored-value codec, network-failure helpers, deployment segment rules,
 * the errors a backend throws, and the in-memory implementations as references.
 */
export * from './broker.js';
export * from './result-backend.js';
export * from './schedule-store.js';
export * from './pubsub.js';
export * from './rate-limiter.js';
export * from './plugin.js';
export { pluginContext } from './load-plugin.js';
export {
  BrokerClient,
  type BrokerClientOptions,
  type ClientEnqueueOptions,
} from './broker-client.js';

export * from './admin/broker-administration.js';
export * from './admin/result-administration.js';
export * from './admin/dead-letter-page.js';
export * from './admin/query-checks.js';
export { packageLabel } from './admin/package-label.js';
export { UnsupportedOperationError } from './admin/errors.js';

export {
  decodeJsonValue,
  decodeStoredValue,
  encodeJsonValue,
  encodeStoredValue,
} from './codec/json-value.js';
export { networkErrorCode, networkFailureCause, withoutPassword } from './network-failure.js';
export { DEFAULT_DEPLOYMENT, deploymentSegment, type SegmentRules } from './deployment.js';

export {
  BrokerConnectionError,
  BrokerError,
  CapabilityError,
  ConfigError,
  InvalidArgumentError,
  LeaseLostError,
  PackageTooLargeError,
  TasqError,
} from './errors.js';
export { type Logger, silentLogger } from './logger.js';
export { type Clock, ManualClock, systemClock } from './clock.js';
export { uuidv7, uuidv7Time } from './ids.js';
export type { Duration } from './duration.js';

export { MemoryBroker, type MemoryBrokerOptions, MemoryBrokerStore } from './memory/memory-broker.js';
export { MemoryResultBackend, MemoryResultStore } from './memory/memory-result-backend.js';
export { MemoryScheduleState, MemoryScheduleStore } from './memory/memory-schedule-store.js';
export { MemoryPubSub, MemoryPubSubHub } from './memory/memory-pubsub.js';
