/**
 * The programmatic entry: `startCluster(config)` opens the configured broker and result backend, starts
 * the workers and the fetcher, and returns a handle to watch and stop the cluster. The CLI's
 * `tasq cluster` is this plus signal handling and log lines.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import {
  type Clock,
  InvalidArgumentError,
  type Logger,
  type ResolvedConfig,
  silentLogger,
  systemClock,
  type TaskRegistry,
  Tasq,
} from '@tasq/core';
import type { QueueSize } from '@tasq/core/backend';
import {
  EVERY_INTERFACE,
  keyIdOf,
  type ListenAddress,
  parseListenAddress,
  runtimeServicesOf,
} from '@tasq/core/internal';
import type { ClusterEmitter, ClusterStats } from './runtime/events.js';
import { type AutoscaleRange, Autoscaler, type AutoscalerOptions } from './monitoring/autoscaler.js';
import { ClusterReporter } from './monitoring/cluster-reporter.js';
import { ControlResponder } from './monitoring/control-responder.js';
import { type ClusterIdentity, type ClusterSnapshot, snapshotOf } from './monitoring/snapshot.js';
import { WireCodec } from './monitoring/wire.js';
import { DeadLetterRetentionKeeper } from './runtime/dead-letter-retention.js';
import { type HealthReport, healthOf, startHealthServer } from './runtime/health.js';
import { withResolvableModules } from './runtime/broker-modules.js';
import type { RateLimitScope } from './runtime/rate-limiter.js';
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
  /**
   * Serve the health probe (GET /health) at this address: `'127.0.0.1:9000'`, `{ host, port }`, or a
   * port alone (`':9000'`) for every interface (0.0.0.0); port 0 takes any free port. Default: the
   * configuration's `health`, else no probe.
   */
  health?: string | { host?: string; port: number };
  /** Serve the health probe on this port, on every interface (as `health: { port }`). */
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
  /**
   * Publish monitoring events and answer remote control on the broker's pub/sub (or, without one, store
   * stats in the result backend). Default true.
   */
  monitoring?: boolean;
  /** Heartbeat interval of monitoring events. Default 2 s. */
  heartbeatMs?: number;
  /**
   * Prometheus metrics. `handle.metrics` is the registry either way, to merge into an application's own;
   * with an address (`'127.0.0.1:9464'`, or `{ host, port }` — a port alone means every interface, port
   * 0 any free port) it is also served at GET /metrics. `defaultMetrics` (default true) adds prom-client's
   * process metrics.
   */
  metrics?: string | { host?: string; port?: number; defaultMetrics?: boolean };
  /** Grow and shrink the pool with load between these sizes (checked every second by default). */
  autoscale?: AutoscaleRange & Omit<AutoscalerOptions, 'resize'>;
}

export interface ClusterHandle {
  readonly config: ResolvedConfig;
  readonly events: ClusterEmitter;
  readonly stats: ClusterStats;
  /** The client the cluster uses (broker and results). */
  readonly tasq: Tasq;
  /** The health probe's port, when one was asked for. */
  readonly healthPort?: number;
  /** Where the health probe listens (host as asked, port as bound), when one was asked for. */
  readonly healthAddress?: ListenAddress;
  /**
   * This cluster's identity, `name@host:pid` (`#2`... for further clusters in one process): the owner of
   * the scheduler's leader lock, and how monitoring events and control replies name it.
   */
  readonly identity: string;
  /**
   * `shared` when rate limits hold across clusters (the broker's or result backend's package offers a
   * limiter), `cluster` when each cluster keeps its own, `none` when no rate limits are configured.
   */
  readonly rateLimitScope: RateLimitScope;
  /** True while this cluster's scheduler is the leader (the one that enqueues scheduled runs). */
  isSchedulerLeader(): boolean;
  /** The metrics endpoint's port, when one was asked for. */
  readonly metricsPort?: number;
  /** The cluster's prom-client registry, when metrics were asked for: `Registry.merge([yours, it])`. */
  readonly metrics?: Registry;
  workers(): WorkerInfo[];
  /** Pool, workers, held packages and counters right now (what `tasq control stats` answers). */
  snapshot(): ClusterSnapshot;
  /** Keep `size` workers from now on (see Sentinel.resize). */
  resize(size: number): number;
  /** Recycle every worker gracefully; returns how many. */
  restartWorkers(): number;
  /** Apply the dead-letter retention (`deadLetters`) to the consumed queues now; how many were deleted. */
  trimDeadLetters(): Promise<number>;
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
  for (const warning of config.warnings) logger.warn({}, warning);
  // Checked before anything starts. Both endpoints listen on every interface unless a host is given.
  const healthAddress =
    listenAddressOption(options.health, 'health') ??
    (options.healthPort !== undefined ? { host: EVERY_INTERFACE, port: options.healthPort } : config.health);
  const metricsAddress =
    typeof options.metrics === 'object' && options.metrics.port === undefined
      ? undefined // the registry only, served by the application
      : listenAddressOption(
          options.metrics as string | { host?: string; port: number } | undefined,
          'metrics',
        );
  const defaultMetrics = typeof options.metrics === 'object' ? options.metrics.defaultMetrics : undefined;
  let registry = options.registry;
  if (config.pool === 'inline' && !registry) registry = await loadTasks({ tasks: config.tasks, cwd });
  const tasq =
    options.tasq ?? (await Tasq.open(config, { cwd, logger, clock, ...(registry ? { registry } : {}) }));
  // The runtime works on the client's services (its connections), not on the application's surface.
  const services = runtimeServicesOf(tasq);
  const sentinel = new Sentinel(config, services, {
    cwd,
    logger,
    clock,
    ...(registry ? { registry } : {}),
    ...(options.reserveWaitMs !== undefined ? { reserveWaitMs: options.reserveWaitMs } : {}),
    ...(options.workerExecArgv ? { workerExecArgv: options.workerExecArgv } : {}),
    ...(options.scheduler ? { scheduler: options.scheduler } : {}),
  });
  const identity: ClusterIdentity = {
    id: sentinel.identity,
    name: config.cluster,
    host: hostname(),
    pid: process.pid,
    startedAt: clock.now(),
    keyIds: config.secrets.map(keyIdOf),
  };
  const monitoring = options.monitoring ?? true;
  const pubsub = monitoring
    ? await services.openPubSub().catch((error) => {
        logger.warn({}, `monitoring events are off: pub/sub could not open: ${(error as Error).message}`);
        return undefined;
      })
    : undefined;
  const reporter = monitoring
    ? new ClusterReporter({
        sentinel,
        identity,
        pubsub,
        results: services.results,
        clock,
        logger,
        ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
      })
    : undefined;
  const snapshot = (): ClusterSnapshot =>
    reporter?.snapshot() ?? snapshotOf(sentinel, identity, clock.now(), 0);
  const resize = (size: number, by: 'control' | 'autoscale'): number => {
    const previous = sentinel.poolSize;
    const now = sentinel.resize(size);
    if (now !== previous) sentinel.events.emit('pool-resized', { size: now, previous, by });
    return now;
  };
  let handle: ClusterHandle | undefined;
  const control = pubsub
    ? new ControlResponder({
        pubsub,
        codec: WireCodec.for(config),
        deployment: config.name,
        identity,
        clock,
        logger,
        actions: {
          snapshot,
          resize: (size) => resize(size, 'control'),
          poolSize: () => sentinel.poolSize,
          restart: () => sentinel.restartWorkers(),
          shutdown: () => void handle?.stop({ reason: 'remote control' }),
          cancelJob: (jobId, reason) => sentinel.cancelJob(jobId, reason),
        },
      })
    : undefined;
  const closeMonitoring = async () => {
    await control?.close().catch(() => {});
    await reporter?.close().catch(() => {});
    await pubsub?.close().catch(() => {});
  };
  try {
    await control?.start();
    await sentinel.start();
  } catch (error) {
    await closeMonitoring();
    await tasq.close();
    throw error;
  }
  const staleMs = options.healthStaleMs ?? 60_000;
  const health = () => healthOf(sentinel, clock.now(), staleMs);
  let server: Server | undefined;
  if (healthAddress) {
    try {
      server = await startHealthServer(healthAddress, health);
    } catch (error) {
      await sentinel.stop({ timeoutMs: 0, reason: 'health probe could not start' });
      await closeMonitoring();
      throw new Error(
        `health probe: cannot listen on ${healthAddress.host}:${healthAddress.port}: ${(error as Error).message}`,
      );
    }
  }
  // Loaded only when asked for: prom-client brings @opentelemetry/api along (83 modules, 0.76 MiB of
  // live heap after a full GC), which a cluster without metrics never uses.
  const { ClusterMetrics, startMetricsServer } = options.metrics
    ? await import('./monitoring/metrics.js')
    : { ClusterMetrics: undefined, startMetricsServer: undefined };
  const metrics = ClusterMetrics
    ? new ClusterMetrics(
        sentinel.events,
        { snapshot, queueSizes: () => queueSizes(tasq, config.queues) },
        {
          cluster: sentinel.identity,
          ...(defaultMetrics !== undefined ? { defaultMetrics } : {}),
        },
      )
    : undefined;
  let metricsServer: Server | undefined;
  if (metricsAddress && metrics && startMetricsServer) {
    const address = metricsAddress;
    try {
      metricsServer = await startMetricsServer(address, () => metrics.render());
    } catch (error) {
      await sentinel.stop({ timeoutMs: 0, reason: 'metrics endpoint could not start' });
      await closeMonitoring();
      server?.close();
      throw new Error(
        `metrics: cannot listen on ${address.host}:${address.port}: ${(error as Error).message}`,
      );
    }
  }
  const autoscaler = options.autoscale
    ? new Autoscaler(sentinel, options.autoscale, {
        ...options.autoscale,
        resize: (size) => resize(size, 'autoscale'),
      })
    : undefined;
  autoscaler?.start();
  const deadLetters = new DeadLetterRetentionKeeper({
    admin: services.broker.broker.administration,
    retention: config.deadLetterRetention,
    queues: config.queues,
    clock,
    logger,
  });
  deadLetters.start();
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  let finishing: Promise<void> | undefined;
  const finish = (run: Promise<void>) => {
    finishing ??= (async () => {
      deadLetters.stop();
      await run;
      autoscaler?.stop();
      metrics?.stop();
      await closeMonitoring();
      await Promise.all(
        [server, metricsServer].map(
          (s) => new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve())),
        ),
      );
      resolveStopped();
    })();
    return finishing;
  };
  handle = {
    config,
    events: sentinel.events,
    stats: sentinel.stats,
    tasq,
    ...(server && healthAddress
      ? {
          healthPort: (server.address() as AddressInfo).port,
          healthAddress: { host: healthAddress.host, port: (server.address() as AddressInfo).port },
        }
      : {}),
    identity: sentinel.identity,
    rateLimitScope: sentinel.rateLimitScope,
    isSchedulerLeader: () => sentinel.isSchedulerLeader,
    ...(metricsServer ? { metricsPort: (metricsServer.address() as AddressInfo).port } : {}),
    ...(metrics ? { metrics: metrics.registry } : {}),
    workers: () => sentinel.workerInfo(),
    snapshot,
    resize: (size) => resize(size, 'control'),
    restartWorkers: () => sentinel.restartWorkers(),
    trimDeadLetters: () => deadLetters.trim(),
    health,
    stop: async (stopOptions) => {
      await finish(sentinel.stop(stopOptions));
    },
    kill: async () => {
      await finish(sentinel.kill());
    },
    stopped,
  };
  return handle;
}

/** An endpoint's address option as given to startCluster: checked, with every interface as the default host. */
function listenAddressOption(
  value: string | { host?: string; port: number } | undefined,
  name: string,
): ListenAddress | undefined {
  if (value === undefined) return undefined;
  const address =
    typeof value === 'string'
      ? parseListenAddress(value)
      : { host: value.host ?? EVERY_INTERFACE, port: value.port };
  if (!address || !Number.isInteger(address.port) || address.port < 0 || address.port > 65_535) {
    throw new InvalidArgumentError(
      `startCluster ${name}: ${JSON.stringify(value)} is not [HOST]:PORT like "127.0.0.1:9000" or ":9000"`,
    );
  }
  return address;
}

/** Sizes of the consumed queues, asked at most once a second however often metrics are scraped. */
const sizeCache = new WeakMap<Tasq, { at: number; sizes: Promise<Array<{ queue: string } & QueueSize>> }>();
function queueSizes(tasq: Tasq, queues: string[]): Promise<Array<{ queue: string } & QueueSize>> {
  const cached = sizeCache.get(tasq);
  const now = Date.now();
  if (cached && now - cached.at < 1_000) return cached.sizes;
  const sizes = Promise.all(
    queues.map(async (queue) => ({ queue, ...(await runtimeServicesOf(tasq).broker.size(queue)) })),
  );
  sizeCache.set(tasq, { at: now, sizes });
  return sizes;
}
