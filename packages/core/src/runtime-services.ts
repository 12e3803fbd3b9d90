/**
 * What a cluster and the @tasq/* tools need of tasq to run and inspect jobs, and nothing an application
 * calls: the broker client, the result backend, the schedule store, rate limiter and pub/sub shared by
 * clusters, the package codec, the clock and the logger, and the sends a run can cause (a retry's
 * package, a final run's follow-ups). The cluster runtime is given this, not the application's client.
 */
import type { BrokerClient } from './broker-client.js';
import type { Clock } from './clock.js';
import { ClientRuntime } from './client-runtime.js';
import { runtimeOfClient, type Tasq } from './client.js';
import type { ResolvedConfig } from './config/resolve.js';
import type { EnqueueJobOptions } from './enqueue-options.js';
import type { Job } from './job-handle.js';
import type { Logger } from './logger.js';
import type { PubSub } from './pubsub.js';
import type { RateLimiter } from './rate-limiter.js';
import type { ResultBackend, TaskResult } from './result-backend.js';
import type { ScheduleStore } from './schedule-store.js';
import type { Scheduler, SchedulerOptions } from './schedule/scheduler.js';
import type { TaskRegistry } from './task.js';
import type { SignatureData, TaskPackage, TaskPackageCodec } from './task-package.js';

export interface RuntimeServices {
  readonly config: ResolvedConfig;
  readonly broker: BrokerClient;
  readonly results: ResultBackend;
  /** Signs, compresses and encodes packages; decoding checks the signature. */
  readonly codec: TaskPackageCodec;
  /** The tasks this process knows (sync mode runs them; their defaults apply to enqueues by name). */
  readonly registry: TaskRegistry;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The store schedules are kept in, shared by clusters (opened on first use). */
  schedules(): Promise<ScheduleStore>;
  /** The rate limiter shared by clusters; undefined when the packages in use have none. */
  rateLimiter(): Promise<RateLimiter | undefined>;
  /**
   * Open the deployment's pub/sub (events, remote control) on a connection of its own, closed by the
   * caller; undefined when the broker package has none.
   */
  openPubSub(): Promise<PubSub | undefined>;
  /** A scheduler over the schedule store, enqueueing due runs; the cluster's leader runs it. */
  createScheduler(owner: string, options?: Partial<SchedulerOptions>): Promise<Scheduler>;
  /** A complete package for a call: the options merged with the configuration's defaults, checked. */
  buildPackage(signature: SignatureData, options: EnqueueJobOptions): TaskPackage;
  /** Send packages as built (a retry of the task's own policy, a requeued job). */
  send(packages: readonly TaskPackage[]): Promise<Job<unknown>[]>;
  /** Send what follows a final run: its hook, the next chain link, a chord's callback. */
  sendFollowUps(pkg: TaskPackage, result: TaskResult): Promise<void>;
  /** Close every connection these services opened. */
  close(): Promise<void>;
}

export interface RuntimeServicesOptions {
  /** Where the configuration's module names (broker, result backend, tasks) resolve from. */
  cwd?: string;
  logger?: Logger;
  clock?: Clock;
  registry?: TaskRegistry;
}

/** Open the services a resolved configuration names, without an application client. */
export function openRuntimeServices(
  config: ResolvedConfig,
  options: RuntimeServicesOptions = {},
): Promise<RuntimeServices> {
  return ClientRuntime.open(config, options);
}

/** The services an application client is built on: the same connections (closing one closes both). */
export function runtimeServicesOf(tasq: Tasq): RuntimeServices {
  return runtimeOfClient(tasq);
}
