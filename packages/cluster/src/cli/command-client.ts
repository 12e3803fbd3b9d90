/** Client commands: enqueue, result, info, queue size|purge, migrate, check. */
import {
  Administration,
  importFromApplication,
  parseDurationMs,
  type ResolvedConfig,
  type TaskResult,
  Tasq,
} from '@tasq/core';
import { describeStatus } from './command-jobs.js';
import { checkClusterKeys, type KeyCheck } from '../monitoring/key-check.js';
import { findLiveClusters, isTaskOutcome, type LiveClusters } from '../monitoring/live-clusters.js';
import type { ClusterSnapshot } from '../monitoring/snapshot.js';
import { loadTasks } from '../worker/worker-runtime.js';
import {
  type CommandIo,
  commonHelp,
  durationFlag,
  formatTime,
  parse,
  readConfig,
  taskArguments,
  withClient,
} from './common.js';
import { UsageError } from './errors.js';

const open = (config: ResolvedConfig, io: CommandIo) => () => Tasq.open(config, { cwd: io.cwd });

function describeResult(result: TaskResult): string {
  const runtime = result.stoppedAt - result.startedAt;
  const head = `${result.id} ${result.name} ${result.status} after ${result.attempts} attempt(s), ${runtime} ms`;
  if (result.status === 'success') return `${head}\nresult: ${JSON.stringify(result.result)}`;
  return `${head}\nerror: ${result.error?.name ?? 'Error'}: ${result.error?.message ?? ''}`;
}

export const enqueueHelp = `Usage: tasq enqueue NAME [ARGS_JSON] [options]

Enqueue one call of task NAME. ARGS_JSON is a JSON array of arguments (a single value is one argument).
Prints the job id; with --wait, waits for the result and prints it (exit 1 when the task failed).

Options:
  -q, --queue Q        queue (default: the configured queue; with --cluster, that cluster's)
  -n, --cluster NAME   enqueue for the alt cluster NAME: its queue is the default
      --delay D        run no earlier than D from now (10s, 5m)
      --expires E      do not run it if it has not started by then: a duration from now (30m, 2h) or
                       an ISO date (2026-12-24T18:00:00Z); it is stored as expired instead
      --wait           wait for the result
      --timeout D      how long --wait waits (default 30s)
      --json           print JSON
${commonHelp}`;

export async function enqueueCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    queue: { type: 'string', short: 'q' },
    cluster: { type: 'string', short: 'n' },
    delay: { type: 'string' },
    expires: { type: 'string' },
    wait: { type: 'boolean' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.out(enqueueHelp);
    return 0;
  }
  const [name, argsJson, extra] = positionals;
  if (!name) throw new UsageError('enqueue needs a task NAME (see tasq enqueue --help)');
  if (extra !== undefined)
    throw new UsageError(`unexpected argument "${extra}" (pass arguments as one JSON array)`);
  const args = taskArguments(argsJson);
  const delayMs = durationFlag(values.delay, '--delay');
  const expires = expiresFlag(values.expires);
  const timeoutMs = durationFlag(values.timeout, '--timeout') ?? 30_000;
  const config = await readConfig(values, io, {
    ...(values.cluster !== undefined ? { cluster: values.cluster } : {}),
  });
  return withClient(open(config, io), async (tasq) => {
    const job = await tasq.enqueueByName(name, args, {
      ...(values.queue !== undefined ? { queue: values.queue } : {}),
      ...(delayMs !== undefined ? { delay: `${delayMs}ms` } : {}),
      ...(expires !== undefined ? { expires } : {}),
    });
    if (!values.wait) {
      io.out(values.json ? JSON.stringify({ id: job.id, name }) : job.id);
      return 0;
    }
    const outcome = await job.outcome(timeoutMs);
    if (!outcome) {
      io.out(
        values.json
          ? JSON.stringify({ id: job.id, name, status: 'pending' })
          : // Not a failure of the job: say what it may be doing and how to keep waiting.
            `${job.id}\nno result within ${timeoutMs} ms: the job is still queued, running or waiting to be retried; ` +
              `\`tasq result ${job.id} --wait 1m\` waits again. If it never runs, check that a cluster consumes ` +
              `queue "${job.queue}" (\`tasq info\` lists the running ones) and has this configuration's secret ` +
              '(`tasq check` compares them)',
      );
      return 1;
    }
    io.out(values.json ? JSON.stringify(outcome) : describeResult(outcome));
    return outcome.status === 'success' ? 0 : 1;
  });
}

/** `--expires`: a duration from now, or a date (ISO 8601) that is still ahead. */
function expiresFlag(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const ms = parseDurationMs(value);
  if (ms !== undefined && ms > 0) return new Date(Date.now() + ms);
  // A date needs at least year-month-day: Date.parse alone would take "5" or "soon 1" as a date.
  const at = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at)) {
    throw new UsageError(
      `--expires must be a duration like 30m or 2h, or an ISO date like 2026-12-24T18:00:00Z, got "${value}"`,
    );
  }
  if (at <= Date.now()) throw new UsageError(`--expires ${value} is already past: the job could never run`);
  return new Date(at);
}

export const resultHelp = `Usage: tasq result ID [options]

Print the stored result of job ID (exit 1 when there is none, or the task failed).

Options:
      --wait D     wait up to D for the result (default: just look)
      --json       print the stored result as JSON
${commonHelp}`;

export async function resultCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, wait: { type: 'string' } });
  if (values.help) {
    io.out(resultHelp);
    return 0;
  }
  const [id, extra] = positionals;
  if (!id) throw new UsageError('result needs a job ID');
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  const waitMs = durationFlag(values.wait, '--wait') ?? 0;
  const config = await readConfig(values, io);
  return withClient(open(config, io), async (tasq) => {
    const outcome = waitMs > 0 ? await tasq.results.wait(id, waitMs) : await tasq.results.get(id);
    if (!outcome) {
      io.out(values.json ? JSON.stringify({ id, status: 'unknown' }) : `no result for job ${id}`);
      return 1;
    }
    io.out(values.json ? JSON.stringify(outcome) : describeResult(outcome));
    return outcome.status === 'success' ? 0 : 1;
  });
}

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
  return withClient(open(config, io), async (tasq) => {
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
      queueNames.map(async (queue) => ({ queue, ...(await tasq.broker.size(queue)) })),
    );
    // Without pub/sub, clusters keep their stats as successes: ask for a few more, show only outcomes.
    const successes = newestStopFirst(
      (await tasq.results.list({ status: 'success', limit: limit + 20 }))
        .filter(isTaskOutcome)
        .slice(0, limit),
    );
    const failures = newestStopFirst(await tasq.results.list({ status: 'failure', limit }));
    const live =
      clusterWaitMs > 0 ? await findLiveClusters(tasq, { waitMs: clusterWaitMs, cwd: io.cwd }) : undefined;
    const info = {
      name: config.name,
      broker: {
        name: tasq.broker.name,
        module: config.broker.module,
        capabilities: tasq.broker.capabilities,
      },
      resultBackend: tasq.results.name,
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
      `deployment ${config.name} on the ${tasq.broker.name} broker (${config.broker.module}), results in ${tasq.results.name}`,
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

export const queueHelp = `Usage: tasq queue size|purge|pause|resume QUEUE [options]

  size QUEUE     print ready, delayed, reserved and dead counts, and "(paused)" for a paused queue
  purge QUEUE    delete every ready and delayed package of QUEUE; prints how many
  pause QUEUE    no cluster takes new jobs from QUEUE (persisted; enqueues still succeed)
  resume QUEUE   clusters take jobs from QUEUE again

Options:
      --json       print JSON
${commonHelp}`;

export async function queueCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
  if (values.help) {
    io.out(queueHelp);
    return 0;
  }
  const [action, queue, extra] = positionals;
  if (action !== 'size' && action !== 'purge' && action !== 'pause' && action !== 'resume') {
    throw new UsageError(
      `queue needs "size", "purge", "pause" or "resume", got ${action === undefined ? 'nothing' : `"${action}"`}`,
    );
  }
  if (!queue) throw new UsageError(`queue ${action} needs a QUEUE name`);
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  const config = await readConfig(values, io);
  return withClient(open(config, io), async (tasq) => {
    const admin = Administration.of(tasq);
    if (action === 'size') {
      const status = await admin.queueStatus(queue);
      io.out(values.json ? JSON.stringify(status) : `${queue}: ${describeStatus(status)}`);
    } else if (action === 'pause' || action === 'resume') {
      await (action === 'pause' ? admin.pause(queue) : admin.resume(queue));
      const paused = action === 'pause';
      io.out(
        values.json
          ? JSON.stringify({ queue, paused })
          : paused
            ? `${queue}: paused (clusters take no new jobs from it; enqueues still succeed)`
            : `${queue}: resumed`,
      );
    } else {
      const removed = await tasq.broker.purge(queue);
      io.out(values.json ? JSON.stringify({ queue, removed }) : `${queue}: purged ${removed} package(s)`);
    }
    return 0;
  });
}

export const migrateHelp = `Usage: tasq migrate [options]

Apply the configured broker package's database migrations (for example @tasq/orm's), then exit.
Brokers without migrations need none: the command says so and exits 0.
${commonHelp}`;

export async function migrateCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, {});
  if (values.help) {
    io.out(migrateHelp);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const config = await readConfig(values, io);
  if (config.broker.module === 'memory') {
    io.out('the memory broker has no migrations');
    return 0;
  }
  const module = await importFromApplication(config.broker.module, io.cwd);
  const migrate = module.migrate;
  if (typeof migrate !== 'function') {
    io.out(`the broker chosen by \`${config.broker.source}\` has no migrations; nothing to do`);
    return 0;
  }
  // The deployment name picks the tables to migrate (a deployment other than "default" has its own).
  await (migrate as (options: unknown, context: { deployment: string }) => Promise<void>)(
    config.broker.options,
    { deployment: config.name },
  );
  io.out(`migrations applied (broker chosen by \`${config.broker.source}\`)`);
  return 0;
}

export const checkHelp = `Usage: tasq check [options]

Validate the configuration, import the tasks modules, connect to the broker and the result backend, and
name what is wrong. Warns when packages would be signed with the insecure development secret. Then asks
the running clusters whether they have this configuration's key (a signed ping over the broker's
pub/sub; without pub/sub, the key ids clusters store with their stats are compared): a cluster with
another secret dead-letters this application's jobs unread. Only key ids are compared, never a key.

Options:
      --cluster-wait D     how long running clusters get to answer (default 1s; 0 does not ask)
${commonHelp}`;

export async function checkCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, { 'cluster-wait': { type: 'string' } });
  if (values.help) {
    io.out(checkHelp);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const clusterWaitMs = durationFlag(values['cluster-wait'], '--cluster-wait') ?? 1_000;
  const config = await readConfig(values, io, { showsWarnings: true });
  io.out(
    `ok: configuration valid (deployment ${config.name}, broker ${config.broker.module} via ${config.broker.source})`,
  );
  for (const warning of config.warnings) io.out(`warning: ${warning}`);
  let problems = 0;
  if (config.insecureSecret) {
    io.out(
      'warning: no secret configured: packages are signed with the insecure development key; set `secret` or TASQ_SECRET',
    );
  }
  if (config.tasks.length === 0) {
    io.out('warning: no `tasks` modules configured: workers will know no tasks');
  } else {
    try {
      const registry = await loadTasks({ tasks: config.tasks, cwd: io.cwd });
      io.out(`ok: tasks modules import (${registry.names().length} tasks: ${registry.names().join(', ')})`);
    } catch (error) {
      problems++;
      io.out(`problem: ${(error as Error).message}`);
    }
  }
  let tasq: Tasq | undefined;
  try {
    tasq = await Tasq.open(config, { cwd: io.cwd });
  } catch (error) {
    io.out(
      `problem: cannot open the broker or result backend: ${(error as Error).message.replace(/\s*\n\s*/g, ' ')}`,
    );
    return 1;
  }
  const broker = `broker ${tasq.broker.name}${addressOf(config.broker.options)}`;
  const results = `result backend ${tasq.results.name}${addressOf((config.resultBackend ?? config.broker).options)}`;
  try {
    try {
      const size = await tasq.broker.size(config.queue);
      io.out(`ok: ${broker} answers (queue ${config.queue}: ${size.ready} ready)`);
    } catch (error) {
      problems++;
      io.out(`problem: ${broker}: ${(error as Error).message}`);
    }
    try {
      await tasq.results.get('tasq-check-probe');
      io.out(`ok: ${results} answers`);
    } catch (error) {
      problems++;
      io.out(`problem: ${results}: ${(error as Error).message}`);
    }
    if (clusterWaitMs > 0) problems += await reportClusterKeys(tasq, clusterWaitMs, io);
  } finally {
    await tasq.close();
  }
  return problems > 0 ? 1 : 0;
}

/** `tasq check`'s lines about the running clusters' keys; returns the number of problems. */
async function reportClusterKeys(tasq: Tasq, waitMs: number, io: CommandIo): Promise<number> {
  let check: KeyCheck;
  try {
    check = await checkClusterKeys(tasq, { waitMs, cwd: io.cwd });
  } catch (error) {
    io.out(`warning: could not ask the running clusters for their keys: ${(error as Error).message}`);
    return 0;
  }
  const how =
    check.source === 'control'
      ? `a signed ping, answers within ${check.withinMs} ms`
      : `no pub/sub on this broker: the key ids clusters stored with their stats in the last ${Math.round(check.withinMs / 1000)} s`;
  if (check.clusters.length === 0) {
    io.out(
      `note: no running cluster of deployment "${tasq.config.name}" to compare keys with (${how}); ` +
        'a cluster of another deployment `name` is not asked',
    );
    return 0;
  }
  let problems = 0;
  for (const cluster of check.clusters) {
    if (cluster.sameKey) {
      io.out(`ok: cluster ${cluster.cluster} has this configuration's key (key id ${check.keyId}; ${how})`);
      continue;
    }
    problems++;
    const theirs = cluster.keyIds?.length ? `; the cluster has key id ${cluster.keyIds.join(', ')}` : '';
    io.out(
      `problem: cluster ${cluster.cluster} does not have this configuration's key (key id ${check.keyId}${theirs}; ${how}): ` +
        'it dead-letters the jobs sent from here unread; give both the same `secret` (or TASQ_SECRET)',
    );
  }
  return problems;
}

/**
 * " at host:port/path" for a plugin configured by URL, without credentials, so `tasq check` says which
 * server it reached (or could not); empty when there is no URL to show.
 */
function addressOf(options: Record<string, unknown>): string {
  if (typeof options.url !== 'string') return '';
  try {
    const url = new URL(options.url);
    // A file (sqlite:./tasq.db) has no host: its path says where it is.
    if (!url.host) return ` at ${decodeURIComponent(url.pathname)}`;
    return ` at ${url.host}${url.pathname.length > 1 ? url.pathname : ''}`;
  } catch {
    return '';
  }
}
