/**
 * The programmatic entry: `startCluster(config)` opens the configured broker and result backend, starts
 * the workers and the fetcher, and returns a handle to watch and stop the cluster. The CLI's
 * `tasq cluster` is this plus signal handling and log lines.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Clock,
  type Logger,
  type ResolvedConfig,
  silentLogger,
  systemClock,
  type TaskRegistry,
  Tasq,
} from '@tasq/core';
import type { ClusterEmitter, ClusterStats } from './runtime/events.js';
import { type HealthReport, healthOf, startHealthServer } from './runtime/health.js';
import { withResolvableModules } from './runtime/broker-modules.js';
import type { ClusterSchedulerOptions } from './runtime/cluster-scheduler.js';
import { Sentinel, type WorkerInfo } from './runtime/sentinel.js';
import { loadTasks } from './worker/worker-runtime.js';

export interface StartClusterOptions {
  /** Where `tasks` modules and relative broker paths are resolved. Default process.cwd(). */
  cwd?: string;
  logger?: Logger;
  /** Time for leases and rate limits. Default the system clock. */
  clock?: Clock;
  /** Registry for `pool: 'inline'`; default core's registry, with the `tasks` modules imported into it. */
  registry?: TaskRegistry;
  /** Serve the health probe on this port (0 = any free port). */
  healthPort?: number;
  /** The probe turns unhealthy after this long without progress. Default 60 s. */
  healthStaleMs?: number;
  /** Longest a single reserve waits for a first package. Default 5 s. */
  reserveWaitMs?: number;
  /** Node flags for worker processes. */
  workerExecArgv?: string[];
  /** Use this client instead of opening one (it is closed when the cluster stops). */
  tasq?: Tasq;
  /** The scheduler's leader lease (default 10 s) and tick (default 1 s), when `scheduler` is on. */
  scheduler?: ClusterSchedulerOptions;
}

export interface ClusterHandle {
  readonly config: ResolvedConfig;
  readonly events: ClusterEmitter;
  readonly stats: ClusterStats;
  /** The client the cluster uses (broker and results). */
  readonly tasq: Tasq;
  /** The health probe's port, when one was asked for. */
  readonly healthPort?: number;
  /** This cluster's identity, `name@host:pid`: the owner of the scheduler's leader lock. */
  readonly identity: string;
  /** `shared` when rate limits hold across clusters (the broker offers a limiter), else `cluster`. */
  readonly rateLimitScope: 'cluster' | 'shared';
  /** True while this cluster's scheduler is the leader (the one that enqueues scheduled runs). */
  isSchedulerLeader(): boolean;
  workers(): WorkerInfo[];
  health(): HealthReport;
  /** Graceful stop: stop fetching, release what was not started, drain for `timeoutMs` (default stopTimeout). */
  stop(options?: { timeoutMs?: number; reason?: string }): Promise<void>;
  /** Stop now: running tasks are killed and their deliveries released. */
  kill(): Promise<void>;
  /** Resolves when the cluster has stopped. */
  readonly stopped: Promise<void>;
}

export async function startCluster(
  input: ResolvedConfig,
  options: StartClusterOptions = {},
): Promise<ClusterHandle> {
  const cwd = options.cwd ?? process.cwd();
  const config = options.tasq ? input : await withResolvableModules(input, cwd);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  let registry = options.registry;
  if (config.pool === 'inline' && !registry) registry = await loadTasks({ tasks: config.tasks, cwd });
  const tasq =
    options.tasq ?? (await Tasq.open(config, { cwd, logger, clock, ...(registry ? { registry } : {}) }));
  const sentinel = new Sentinel(config, tasq, {
    cwd,
    logger,
    clock,
    ...(registry ? { registry } : {}),
    ...(options.reserveWaitMs !== undefined ? { reserveWaitMs: options.reserveWaitMs } : {}),
    ...(options.workerExecArgv ? { workerExecArgv: options.workerExecArgv } : {}),
    ...(options.scheduler ? { scheduler: options.scheduler } : {}),
  });
  try {
    await sentinel.start();
  } catch (error) {
    await tasq.close();
    throw error;
  }
  const staleMs = options.healthStaleMs ?? 60_000;
  const health = () => healthOf(sentinel, clock.now(), staleMs);
  let server: Server | undefined;
  if (options.healthPort !== undefined) {
    try {
      server = await startHealthServer(options.healthPort, health);
    } catch (error) {
      await sentinel.stop({ timeoutMs: 0, reason: 'health probe could not start' });
      throw new Error(
        `health probe: cannot listen on port ${options.healthPort}: ${(error as Error).message}`,
      );
    }
  }
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  const finish = async (run: Promise<void>) => {
    await run;
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    resolveStopped();
  };
  return {
    config,
    events: sentinel.events,
    stats: sentinel.stats,
    tasq,
    ...(server ? { healthPort: (server.address() as AddressInfo).port } : {}),
    identity: sentinel.identity,
    rateLimitScope: sentinel.rateLimitScope,
    isSchedulerLeader: () => sentinel.isSchedulerLeader,
    workers: () => sentinel.workerInfo(),
    health,
    stop: async (stopOptions) => {
      await finish(sentinel.stop(stopOptions));
    },
    kill: async () => {
      await finish(sentinel.kill());
    },
    stopped,
  };
}
