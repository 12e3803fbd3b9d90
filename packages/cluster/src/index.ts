/**
 * @tasq/cluster: the runtime that runs tasks from any configured broker (sentinel, fetcher, worker pool,
 * monitor) and the `tasq` command line.
 */
export {
  type ClusterEventName,
  type ClusterEvents,
  ClusterEmitter,
  type ClusterStats,
  type TaskRef,
} from './runtime/events.js';
export type { HealthReport } from './runtime/health.js';
// The job lifecycle lives in @tasq/core (sync mode and the cluster share it); re-exported where it was.
export {
  canRetry,
  decideOutcome,
  type OutcomeDecision,
  type OutcomeSettings,
  retryDelayMs,
} from '@tasq/core/internal';
export { RateLimits, TokenBucket } from './runtime/rate-limiter.js';
export { HARD_RSS_FACTOR, type WorkerInfo } from './runtime/sentinel.js';
export { type ClusterHandle, type StartClusterOptions, startCluster } from './start-cluster.js';
export type { RateLimitScope } from './runtime/rate-limiter.js';
export { type AutoscaleRange, parseAutoscale } from './monitoring/autoscaler.js';
export { CLUSTER_STATS_TASK, readClusterStats } from './monitoring/cluster-stats-record.js';
export {
  type ControlReply,
  requestControl,
  type SendControlOptions,
  sendControl,
} from './monitoring/control-client.js';
export { checkClusterKeys, type ClusterKey, type KeyCheck } from './monitoring/key-check.js';
export { findLiveClusters, type LiveClusters } from './monitoring/live-clusters.js';
export { liveHeldJobs } from './monitoring/held-jobs.js';
export { DURATION_BUCKETS } from './monitoring/metric-buckets.js';
export { openPubSub } from './monitoring/open-pubsub.js';
export { publishEvents } from './monitoring/publish-events.js';
export { pushCancel } from './monitoring/push-cancel.js';
export type { ClusterLimits, ClusterSnapshot, WorkerSnapshot } from './monitoring/snapshot.js';
export { STATS_STALE_MS } from './monitoring/cluster-stats-record.js';
export {
  type EventStream,
  type SubscribeEventsOptions,
  subscribeEvents,
} from './monitoring/subscribe-events.js';
export { CONTROL_COMMANDS, type ControlCommand, type KeyMismatchNotice } from './monitoring/wire.js';
export { createLogger, type LogFormat } from './cli/log.js';
