/**
 * End to end on RabbitMQ: a whole tasq cluster (sentinel + one worker process, @tasq/rabbitmq as broker)
 * beside raw amqplib 2.3.1 as the ceiling (persistent messages published with confirms, a consumer with
 * prefetch, one ack per message, a no-op in between), same server, same run, rounds interleaved. Each
 * system runs in a child process of its own (this module, started by cluster-common's runChild).
 *
 * RabbitMQ stores no results, so the tasq cluster is given a result backend explicitly: @tasq/redis on
 * 127.0.0.1:6379 under a key prefix of the run's own (deleted afterwards). The "saveLimit -1" rows save
 * no result at all, so they show the broker path alone; the "pool inline" row runs the no-op on the
 * cluster's own event loop, one process like raw amqplib's.
 *
 * - throughput: n/4 no-op jobs (5,000 at the default --n; `--n 80000` gives 20,000) published first
 *   (untimed, confirmed), then one worker process starts; timed from the first handler start to the last
 *   handler end, for both alike; concurrency 1 and 50.
 * - latency: an idle worker (concurrency 1) and a producer that publishes one job every 5 ms, awaiting
 *   its confirm (tasq's `enqueue` resolves on the confirm); enqueue→start p50/p99 over n/20 jobs.
 * - memory: worker peak RSS while it drains, and RSS at ready; tasq's sentinel is reported too.
 *
 * Prefetch: the tasq cluster holds up to queueLimit packages (20 at c=1, 200 at c=50, as in the other
 * cluster suites) and its RabbitMQ prefetch is set to that, as @tasq/rabbitmq's README advises. Raw
 * amqplib runs with prefetch 1 and 50 (the peer figures in shared/bench-peers.md) and with tasq's 20
 * and 200, so the ceiling is shown both ways. Raw amqplib's queue is a plain durable queue; tasq's work
 * queue is plain too (the default) plus a dead-letter queue, and the priority-queue row adds
 * `x-max-priority` 9.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { TasqConfigInput } from '@tasq/core';
import type { BenchContext, BenchRow, BenchSuite } from '../harness.js';
import { deleteRedisKeys } from '../redis-cleanup.js';
import {
  type ChildReport,
  childSpec,
  CPU_COUNTER_UNITS,
  chosenSystems,
  e2eNoop,
  epochNow,
  LATENCY_SPACING_MS,
  PeerRun,
  Results,
  reportToParent,
  runChild,
  runTasqCluster,
  sleep,
  TASKS_MODULE,
  withServerCpu,
  workloadSizes,
} from './cluster-common.js';

const RABBITMQ_URL = process.env.TASQ_BENCH_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const REDIS_URL = process.env.TASQ_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const thisFile = fileURLToPath(import.meta.url);

type SystemName =
  | 'tasq'
  | 'tasq-defaults'
  | 'tasq-no-results'
  | 'tasq-inline'
  | 'tasq-priority-queue'
  | 'amqplib';

interface Spec {
  system: SystemName;
  mode: 'throughput' | 'latency';
  jobs: number;
  concurrency: number;
  /** Raw amqplib's prefetch (tasq's follows its queueLimit). */
  prefetch: number;
  queue: string;
  /** Prefix of the delay ladder's exchanges and of the result keys in Redis. */
  prefix: string;
}

function queueLimit(concurrency: number): number {
  return Math.max(20, concurrency * 4);
}

function label(spec: Pick<Spec, 'system' | 'prefetch' | 'concurrency'>): string {
  if (spec.system === 'amqplib') return `raw amqplib 2.3.1, prefetch ${spec.prefetch}`;
  if (spec.system === 'tasq-defaults')
    return 'tasq cluster on defaults (only concurrency set; results saved in Redis)';
  const prefetch = queueLimit(spec.concurrency);
  if (spec.system === 'tasq') return `tasq cluster (results saved in Redis), prefetch ${prefetch}`;
  if (spec.system === 'tasq-priority-queue')
    return `tasq cluster (saveLimit -1, maxPriority 9), prefetch ${prefetch}`;
  if (spec.system === 'tasq-inline') return `tasq cluster, pool inline (saveLimit -1), prefetch ${prefetch}`;
  return `tasq cluster (saveLimit -1), prefetch ${prefetch}`;
}

function tasqConfig(spec: Spec): TasqConfigInput {
  const limit = queueLimit(spec.concurrency);
  // What a user writes: the broker, the result backend it needs (RabbitMQ stores no results), the
  // tasks, concurrency. One worker process as in every row; bulk, queueLimit, recycle, saveLimit and
  // prefetch are the libraries' own.
  if (spec.system === 'tasq-defaults')
    return {
      rabbitmq: { url: RABBITMQ_URL, exchangePrefix: spec.prefix },
      resultBackend: { class: '@tasq/redis', options: { url: REDIS_URL, prefix: spec.prefix } },
      secret: 'bench-secret',
      queue: spec.queue,
      tasks: [TASKS_MODULE],
      workers: 1,
      concurrency: spec.concurrency,
    };
  return {
    rabbitmq: {
      url: RABBITMQ_URL,
      prefetch: limit,
      exchangePrefix: spec.prefix,
      // Plain queues (the default) like raw amqplib's; this row shows what priorities cost the server.
      ...(spec.system === 'tasq-priority-queue' ? { maxPriority: 9 } : {}),
    },
    resultBackend: { class: '@tasq/redis', options: { url: REDIS_URL, prefix: spec.prefix } },
    secret: 'bench-secret',
    queue: spec.queue,
    tasks: [TASKS_MODULE],
    workers: 1,
    concurrency: spec.concurrency,
    // As in cluster-postgres and cluster-redis; a reserve returns at most `prefetch` deliveries.
    bulk: Math.min(100, Math.max(10, spec.concurrency * 2)),
    queueLimit: limit,
    recycle: 1_000_000,
    ...(spec.system !== 'tasq' ? { saveLimit: -1 } : {}),
    // Tasks on the cluster's own event loop, as raw amqplib's handler runs: no worker process.
    ...(spec.system === 'tasq-inline' ? { pool: 'inline' as const } : {}),
    ...(spec.mode === 'latency' ? { saveLimit: 0 } : {}),
  };
}

// ---------------------------------------------------------------- children

async function runTasqChild(spec: Spec): Promise<ChildReport> {
  const { resolveConfig } = await import('@tasq/core');
  return runTasqCluster(resolveConfig(tasqConfig(spec), { env: {} }), spec.mode, spec.jobs);
}

async function runAmqplibChild(spec: Spec): Promise<ChildReport> {
  const { connect } = await import('amqplib');
  const consumerConnection = await connect(RABBITMQ_URL);
  const channel = await consumerConnection.createChannel();
  await channel.prefetch(spec.prefetch);
  const run = new PeerRun(spec.jobs);
  run.ready();
  await channel.consume(spec.queue, (message) => {
    if (!message) return;
    const sentAt =
      spec.mode === 'latency'
        ? (JSON.parse(message.content.toString()) as { sentAt: number }).sentAt
        : undefined;
    run.handled(sentAt);
    channel.ack(message);
  });
  if (spec.mode === 'latency') {
    // Its own connection to publish, as tasq's producer has.
    const producerConnection = await connect(RABBITMQ_URL);
    const publisher = await producerConnection.createConfirmChannel();
    await sleep(100);
    for (let i = 0; i < spec.jobs; i++) {
      await new Promise<void>((resolve, reject) => {
        publisher.sendToQueue(
          spec.queue,
          Buffer.from(JSON.stringify({ sentAt: epochNow() })),
          { persistent: true },
          (error: unknown) => (error ? reject(error) : resolve()),
        );
      });
      await sleep(LATENCY_SPACING_MS);
    }
    await run.done;
    await producerConnection.close();
  }
  await run.done;
  const report = run.report();
  await consumerConnection.close().catch(() => undefined);
  return report;
}

const spec = childSpec<Spec>();
if (spec) {
  reportToParent(spec.system === 'amqplib' ? await runAmqplibChild(spec) : await runTasqChild(spec));
}

// ---------------------------------------------------------------- the parent: prepare, run, collect

function chunks(total: number, size: number): number[] {
  const list: number[] = [];
  for (let i = 0; i < total; i += size) list.push(Math.min(size, total - i));
  return list;
}

/**
 * Publish the run's no-op jobs (chunks of 1,000, confirmed), untimed. With `jobs` 0 only raw amqplib's
 * queue is declared (the cluster declares tasq's on its first reserve).
 */
async function preload(spec: Spec, jobs: number): Promise<void> {
  if (spec.system.startsWith('tasq')) {
    const { resolveConfig, Tasq } = await import('@tasq/core');
    const tasq = await Tasq.open(resolveConfig(tasqConfig(spec), { env: {} }));
    try {
      for (const size of chunks(jobs, 1_000))
        await tasq.enqueueMany(
          e2eNoop,
          Array.from({ length: size }, () => []),
        );
    } finally {
      await tasq.close();
    }
    return;
  }
  const { connect } = await import('amqplib');
  const connection = await connect(RABBITMQ_URL);
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(spec.queue, { durable: true });
    for (const size of chunks(jobs, 1_000)) {
      for (let i = 0; i < size; i++)
        channel.sendToQueue(spec.queue, Buffer.from(JSON.stringify({})), { persistent: true });
      await channel.waitForConfirms();
    }
  } finally {
    await connection.close();
  }
}

/** Delete the run's queues, and for tasq its delay ladder, pub/sub exchange and result keys. */
async function cleanup(spec: Spec): Promise<void> {
  const { connect } = await import('amqplib');
  const connection = await connect(RABBITMQ_URL);
  try {
    const channel = await connection.createChannel();
    for (const queue of [spec.queue, `${spec.queue}.dead`]) await channel.deleteQueue(queue);
    // A release with a delay (the cluster's answer to a failed result save) declares the delay ladder.
    if (spec.system.startsWith('tasq'))
      for (let level = 0; level < 28; level++) await channel.deleteQueue(`${spec.queue}.delay.${2 ** level}`);
    if (spec.system.startsWith('tasq')) {
      for (let level = 0; level < 28; level++) await channel.deleteExchange(`${spec.prefix}.delay.${level}`);
      await channel.deleteExchange(`${spec.prefix}.delay.deliver`);
      // The cluster's monitoring events and remote control go over the broker's pub/sub exchange.
      await channel.deleteExchange(`${spec.prefix}.pubsub`);
    }
  } finally {
    await connection.close();
  }
  if (spec.system.startsWith('tasq')) await deleteRedisKeys(REDIS_URL, spec.prefix);
}

async function serviceProblem(): Promise<string | undefined> {
  try {
    const { connect } = await import('amqplib');
    await (await connect(RABBITMQ_URL)).close();
  } catch (error) {
    return `RabbitMQ at ${RABBITMQ_URL.replace(/\/\/[^@]*@/, '//')} does not answer (${(error as Error).message})`;
  }
  const { Redis } = await import('ioredis');
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch {
    return `Redis at ${REDIS_URL} (the result backend) does not answer`;
  } finally {
    client.disconnect();
  }
}

interface Plan {
  system: SystemName;
  concurrency: number;
  prefetch: number;
}

const PLANS: Plan[] = [
  { system: 'tasq', concurrency: 1, prefetch: queueLimit(1) },
  { system: 'tasq', concurrency: 50, prefetch: queueLimit(50) },
  { system: 'tasq-defaults', concurrency: 1, prefetch: 0 },
  { system: 'tasq-defaults', concurrency: 50, prefetch: 0 },
  { system: 'tasq-no-results', concurrency: 1, prefetch: queueLimit(1) },
  { system: 'tasq-no-results', concurrency: 50, prefetch: queueLimit(50) },
  { system: 'tasq-inline', concurrency: 50, prefetch: queueLimit(50) },
  { system: 'tasq-priority-queue', concurrency: 50, prefetch: queueLimit(50) },
  { system: 'amqplib', concurrency: 1, prefetch: 1 },
  { system: 'amqplib', concurrency: 1, prefetch: queueLimit(1) },
  { system: 'amqplib', concurrency: 50, prefetch: 50 },
  { system: 'amqplib', concurrency: 50, prefetch: queueLimit(50) },
];
const LATENCY_PLANS: Plan[] = [
  { system: 'tasq', concurrency: 1, prefetch: queueLimit(1) },
  { system: 'tasq-priority-queue', concurrency: 1, prefetch: queueLimit(1) },
  { system: 'amqplib', concurrency: 1, prefetch: 1 },
];

export const suite: BenchSuite = {
  name: 'cluster-rabbitmq',
  description:
    'tasq cluster end to end on RabbitMQ (results in Redis, or none) beside raw amqplib 2.3.1 as the ceiling (throughput c=1/c=50, enqueue→start latency, worker RSS)',
  async run(context: BenchContext): Promise<BenchRow[]> {
    const problem = await serviceProblem();
    if (problem) {
      context.log(`${problem}: no rows`);
      return [];
    }
    const { jobs, latencyJobs } = workloadSizes(context.n);
    const runId = randomBytes(3).toString('hex');
    const results = new Results('cluster-rabbitmq', jobs, latencyJobs);
    const chosen = chosenSystems(context);
    const newSpec = (plan: Plan, mode: Spec['mode']): Spec => {
      const id = randomBytes(3).toString('hex');
      return {
        ...plan,
        mode,
        jobs: mode === 'throughput' ? jobs : latencyJobs,
        queue: `tasq-bench-e2e-${runId}-${id}`,
        prefix: `tasq-bench-e2e-${runId}-${id}`,
      };
    };
    const measure = async (plan: Plan, mode: Spec['mode']) => {
      const spec = newSpec(plan, mode);
      try {
        await preload(spec, mode === 'throughput' ? jobs : 0);
        const run = () => runChild(thisFile, spec, `${spec.system} ${spec.mode}`, spec.system === 'amqplib');
        return mode === 'throughput' ? await withServerCpu('beam.smp', spec.jobs, run) : await run();
      } finally {
        await cleanup(spec);
      }
    };
    for (let round = 1; round <= context.rounds; round++) {
      for (const plan of PLANS.filter((entry) => chosen(entry.system, entry.concurrency))) {
        const report = await measure(plan, 'throughput');
        context.log(`round ${round} ${results.addThroughput(label(plan), plan.concurrency, report)}`);
      }
    }
    // tasq's latency is read back from the results (each handler returns its own enqueue→start time).
    for (let round = 1; round <= context.rounds; round++) {
      for (const plan of LATENCY_PLANS.filter((entry) => chosen(entry.system))) {
        const report = await measure(plan, 'latency');
        context.log(`round ${round} ${results.addLatency(label(plan), report)}`);
      }
    }
    return results.rows(CPU_COUNTER_UNITS);
  },
};
