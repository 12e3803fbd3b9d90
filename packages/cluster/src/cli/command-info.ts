/** `tasq info`: the deployment at a glance (queues, recent results, clusters running now). */
import type { TaskResult } from '@tasq/core';
import { runtimeServicesOf } from '@tasq/core/internal';
import { findLiveClusters, isTaskOutcome, type LiveClusters } from '../monitoring/live-clusters.js';
import type { ClusterSnapshot } from '../monitoring/snapshot.js';
import {
  type CommandIo,
  commonHelp,
  durationFlag,
  formatTime,
  openClient,
  parse,
  readConfig,
  withClient,
} from './common.js';
import { UsageError } from './errors.js';

export const infoHelp = `Usage: tasq info [options]

Show the deployment: broker, queues with their sizes, the clusters running now, and recent successes
and failures. Running clusters are asked over the broker's pub/sub; where it has none (SQS, MongoDB),
the stats each cluster stores at every heartbeat are read instead.

Options:
      --json               print JSON
      --limit N            recent results to show (default 10)
      --cluster-wait D     how long running clusters get to answer (default 1s; 0 does not ask)
${commonHelp}`;

export async function infoCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    json: { type: 'boolean' },
    limit: { type: 'string' },
    'cluster-wait': { type: 'string' },
  });
  if (values.help) {
    io.out(infoHelp);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const limit = values.limit === undefined ? 10 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive integer`);
  const clusterWaitMs = durationFlag(values['cluster-wait'], '--cluster-wait') ?? 1_000;
  const config = await readConfig(values, io);
  return withClient(openClient(config, io), async (tasq) => {
    const services = runtimeServicesOf(tasq);
    const queueNames = [
      ...new Set([
        config.queue,
        ...config.queues,
        // An alt cluster consumes its own queues: `queues`, else `queue`, else its name.
        ...Object.entries(config.input.altClusters ?? {}).flatMap(
          ([name, alt]) => alt.queues ?? [alt.queue ?? name],
        ),
      ]),
    ];
    const queues = await Promise.all(
      queueNames.map(async (queue) => ({ queue, ...(await services.broker.size(queue)) })),
    );
    // Without pub/sub, clusters keep their stats as successes: ask for a few more, show only outcomes.
    const successes = newestStopFirst(
      (await services.results.list({ status: 'success', limit: limit + 20 }))
        .filter(isTaskOutcome)
        .slice(0, limit),
    );
    const failures = newestStopFirst(await services.results.list({ status: 'failure', limit }));
    const live =
      clusterWaitMs > 0 ? await findLiveClusters(tasq, { waitMs: clusterWaitMs, cwd: io.cwd }) : undefined;
    const info = {
      name: config.name,
      broker: {
        name: services.broker.name,
        module: config.broker.module,
        capabilities: services.broker.capabilities,
      },
      resultBackend: services.results.name,
      queues,
      clusters: Object.keys(config.input.altClusters ?? {}),
      ...(live ? { running: { source: live.source, withinMs: live.withinMs, clusters: live.clusters } } : {}),
      recent: { successes: successes.map(brief), failures: failures.map(brief) },
    };
    if (values.json) {
      io.out(JSON.stringify(info, null, 2));
      return 0;
    }
    io.out(
      `deployment ${config.name} on the ${services.broker.name} broker (${config.broker.module}), results in ${services.results.name}`,
    );
    io.out('queues:');
    for (const q of queues) {
      io.out(
        `  ${q.queue.padEnd(20)} ready ${q.ready}  delayed ${q.delayed ?? '-'}  reserved ${q.reserved ?? '-'}  dead ${q.dead ?? '-'}`,
      );
    }
    if (live) for (const line of describeLiveClusters(live, Date.now())) io.out(line);
    io.out(`clusters configured: default${info.clusters.length ? `, ${info.clusters.join(', ')}` : ''}`);
    io.out(`recent successes (${successes.length}):`);
    for (const r of successes) io.out(`  ${formatTime(r.stoppedAt)} ${r.name} ${r.id}`);
    io.out(`recent failures (${failures.length}):`);
    for (const r of failures)
      io.out(`  ${formatTime(r.stoppedAt)} ${r.name} ${r.id}: ${r.error?.message ?? ''}`);
    return 0;
  });
}

/**
 * Backends list the most recently enqueued jobs first; a job retried for a while ends after younger ones.
 * The lines show when each job ended, so they are shown in that order.
 */
function newestStopFirst(results: TaskResult[]): TaskResult[] {
  return results.sort((a, b) => b.stoppedAt - a.stoppedAt);
}

function describeLiveClusters(live: LiveClusters, now: number): string[] {
  const how =
    live.source === 'control'
      ? `answered within ${live.withinMs} ms`
      : `stored stats of the last ${Math.round(live.withinMs / 1000)} s`;
  if (live.clusters.length === 0) return [`clusters running: none (${how})`];
  return [
    `clusters running (${live.clusters.length}, ${how}):`,
    ...live.clusters.map((cluster) => `  ${describeCluster(cluster, now)}`),
  ];
}

function describeCluster(cluster: ClusterSnapshot, now: number): string {
  const { stats } = cluster;
  const state = cluster.stopping ? '  stopping' : '';
  return (
    `${cluster.cluster.padEnd(28)} queues ${cluster.queues.join(',')}  pool ${cluster.poolSize} x ${cluster.concurrency}` +
    `  running ${cluster.running}  prefetched ${cluster.prefetched}` +
    `  succeeded ${stats.succeeded}  failed ${stats.failed}  up ${formatUptime(now - cluster.startedAt)}${state}`
  );
}

function formatUptime(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 120 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
}

function brief(r: TaskResult) {
  return {
    id: r.id,
    name: r.name,
    queue: r.queue,
    status: r.status,
    attempts: r.attempts,
    stoppedAt: r.stoppedAt,
    ...(r.error ? { error: `${r.error.name}: ${r.error.message}` } : {}),
  };
}
