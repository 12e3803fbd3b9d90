/**
 * What a cluster needs of tasq to run jobs, and nothing an application calls: the broker client, the
 * result backend, the schedule store and rate limiter shared by clusters, the package codec, the clock
 * and the logger, and the two sends a run can cause (a retry's package, a final run's follow-ups).
 * The cluster runtime is given this, not the application's client; `Tasq` provides it.
 */
import type { BrokerClient } from './broker-client.js';
import type { Clock } from './clock.js';
import type { ResolvedConfig } from './config/resolve.js';
import type { Logger } from './logger.js';
import type { RateLimiter } from './rate-limiter.js';
import type { ResultBackend, TaskResult } from './result-backend.js';
import type { ScheduleStore } from './schedule-store.js';
import type { Scheduler, SchedulerOptions } from './schedule/scheduler.js';
import type { TaskPackage } from './task-package.js';

export interface RuntimeServices {
  readonly config: ResolvedConfig;
  readonly broker: BrokerClient;
  readonly results: ResultBackend;
  /** Signs, compresses and encodes packages; decoding checks the signature. */
  readonly codec: {
    encode(pkg: TaskPackage): Uint8Array;
    decode(body: Uint8Array): TaskPackage;
  };
  readonly clock: Clock;
  readonly logger: Logger;
  /** The store schedules are kept in, shared by clusters (opened on first use). */
  schedules(): Promise<ScheduleStore>;
  /** The rate limiter shared by clusters; undefined when the packages in use have none. */
  rateLimiter(): Promise<RateLimiter | undefined>;
  /** A scheduler over the schedule store, enqueueing due runs; the cluster's leader runs it. */
  createScheduler(owner: string, options?: Partial<SchedulerOptions>): Promise<Scheduler>;
  /** Send packages as built (a retry of the task's own policy). */
  send(packages: readonly TaskPackage[]): Promise<unknown>;
  /** Send what follows a final run: its hook, the next chain link, a chord's callback. */
  sendFollowUps(pkg: TaskPackage, result: TaskResult): Promise<void>;
  close(): Promise<void>;
}
