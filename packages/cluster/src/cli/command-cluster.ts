/** `tasq cluster`: run a cluster until SIGTERM/SIGINT (a second signal kills). */
import { parseListenAddress, runtimeServicesOf } from '@tasq/core/internal';
import { parseAutoscale } from '../monitoring/autoscaler.js';
import { startCluster } from '../start-cluster.js';
import { type CommandIo, commonHelp, loggerFrom, parse, positiveInteger, readConfig } from './common.js';
import { UsageError } from './errors.js';

export const clusterHelp = `Usage: tasq cluster [options]

Run a cluster: a sentinel and its worker pool consume the configured queues until SIGTERM or SIGINT.
The first signal stops fetching, releases prefetched jobs and waits up to stopTimeout for running tasks;
a second signal kills running tasks (their jobs are released) and exits.

Options:
  -n, --name NAME          run the alt cluster NAME (its altClusters overrides apply)
  -w, --workers N          worker processes (default: CPU count)
      --concurrency N      tasks each worker runs at once (default 1)
  -q, --queues a,b         queues to consume (default: the configured queue)
      --pool KIND          process (default), thread or inline
      --health [HOST]:PORT serve GET /health: 200 while consuming, 503 when not (e.g. 127.0.0.1:9000;
                           a port alone, :9000, listens on every interface; default: the \`health\` option)
      --health-port P      the same as --health :P (every interface)
      --metrics [HOST]:PORT  serve Prometheus metrics at GET /metrics (e.g. :9464, every interface)
      --autoscale MIN,MAX  grow the pool while all workers are busy and jobs wait, shrink it when idle
${commonHelp}`;

export async function clusterCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      name: { type: 'string', short: 'n' },
      workers: { type: 'string', short: 'w' },
      concurrency: { type: 'string' },
      queues: { type: 'string', short: 'q' },
      pool: { type: 'string' },
      health: { type: 'string' },
      'health-port': { type: 'string' },
      metrics: { type: 'string' },
      autoscale: { type: 'string' },
    },
    true,
  );
  if (values.help) {
    io.out(clusterHelp);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const overrides: Record<string, unknown> = {};
  const workers = positiveInteger(values.workers, '--workers');
  if (workers !== undefined) overrides.workers = workers;
  const concurrency = positiveInteger(values.concurrency, '--concurrency');
  if (concurrency !== undefined) overrides.concurrency = concurrency;
  if (values.queues !== undefined) {
    const queues = values.queues
      .split(',')
      .map((q) => q.trim())
      .filter(Boolean);
    if (queues.length === 0) throw new UsageError('--queues needs at least one queue name');
    overrides.queues = queues;
  }
  if (values.pool !== undefined) {
    if (!['process', 'thread', 'inline'].includes(values.pool)) {
      throw new UsageError(`--pool must be process, thread or inline, got "${values.pool}"`);
    }
    overrides.pool = values.pool;
  }
  const healthPort = values['health-port'] === undefined ? undefined : Number(values['health-port']);
  if (healthPort !== undefined && (!Number.isInteger(healthPort) || healthPort < 0 || healthPort > 65535)) {
    throw new UsageError(`--health-port must be a port number, got "${values['health-port']}"`);
  }
  const health = values.health === undefined ? undefined : parseListenAddress(values.health);
  if (values.health !== undefined && !health) {
    throw new UsageError(`--health must be [HOST]:PORT like 127.0.0.1:9000 or :9000, got "${values.health}"`);
  }
  if (health && healthPort !== undefined) throw new UsageError('give --health or --health-port, not both');
  const metrics = values.metrics === undefined ? undefined : parseListenAddress(values.metrics);
  if (values.metrics !== undefined && !metrics) {
    throw new UsageError(`--metrics must be [HOST]:PORT like :9464, got "${values.metrics}"`);
  }
  const autoscale = values.autoscale === undefined ? undefined : parseAutoscale(values.autoscale);
  if (values.autoscale !== undefined && !autoscale) {
    throw new UsageError(`--autoscale must be MIN,MAX with 1 <= MIN <= MAX, got "${values.autoscale}"`);
  }
  if (autoscale && workers === undefined) overrides.workers = autoscale.min;
  const config = await readConfig(values, io, {
    ...(values.name !== undefined ? { cluster: values.name } : {}),
    overrides,
    // startCluster logs them.
    showsWarnings: true,
  });
  if (autoscale && config.input.queueLimit === undefined) {
    // Room for the largest pool, so a grown pool is not starved by a limit sized for the smallest.
    config.queueLimit = Math.max(config.queueLimit, autoscale.max * config.concurrency * 4);
  }
  const logger = loggerFrom(values, config);
  if (config.insecureSecret) {
    logger.warn(
      {},
      'no secret configured: packages are signed with the insecure development key (set TASQ_SECRET)',
    );
  }
  const cluster = await startCluster(config, {
    cwd: io.cwd,
    logger,
    ...(healthPort !== undefined ? { healthPort } : {}),
    ...(health ? { health } : {}),
    ...(metrics ? { metrics } : {}),
    ...(autoscale ? { autoscale } : {}),
  });
  cluster.events.onAny((name, payload) => logger.event(name, payload));
  logger.info(
    {
      name: config.name,
      cluster: config.cluster,
      broker: runtimeServicesOf(cluster.tasq).broker.name,
      workers: config.workers,
      concurrency: config.concurrency,
      pool: config.pool,
      queues: config.queues.join(','),
      identity: cluster.identity,
      scheduler: config.scheduler,
      rateLimits: cluster.rateLimitScope,
      ...(cluster.healthAddress
        ? {
            health: `${cluster.healthAddress.host}:${cluster.healthAddress.port}`,
            healthPort: cluster.healthPort,
          }
        : {}),
      ...(cluster.metricsPort !== undefined ? { metricsPort: cluster.metricsPort } : {}),
      ...(autoscale ? { autoscale: `${autoscale.min},${autoscale.max}` } : {}),
    },
    'cluster running',
  );
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      logger.info({ signal, stopTimeoutMs: config.stopTimeoutMs }, 'stopping: draining running tasks');
      void cluster.stop({ reason: signal });
    } else {
      logger.warn({ signal }, 'second signal: killing running tasks');
      void cluster.kill();
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await cluster.stopped;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  const s = cluster.stats;
  logger.info(
    { succeeded: s.succeeded, failed: s.failed, rejected: s.rejected, deadLettered: s.deadLettered },
    'totals',
  );
  return signals > 1 ? 1 : 0;
}
