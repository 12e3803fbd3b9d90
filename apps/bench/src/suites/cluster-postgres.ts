/**
 * End to end on PostgreSQL: a whole tasq cluster (sentinel + one worker process) against pg-boss 12 and
 * graphile-worker 0.18 on the same server, in the same run, interleaved round by round.
 *
 * - throughput: no-op jobs are enqueued in bulk first (untimed), then one worker process is started;
 *   timed from the first job's start to the last job's end, for every system alike (so process start-up
 *   and connection set-up are left out); concurrency 1 and 50.
 * - latency: an idle worker (concurrency 1) and a producer that enqueues one job every 5 ms; each
 *   handler records when it started; enqueue→start p50/p99.
 * - memory: peak RSS of the worker process while it drains the queue, and at ready.
 * - CPU: user + system CPU time of the worker process per job over the timed span of a throughput run;
 *   tasq's sentinel is reported too.
 *
 * Sizes: each throughput run uses n/4 jobs (5,000 at the default --n 20000, so a default run stays at a
 * few minutes); `--n 80000` gives the 20,000-job runs of the peer figures. Latency uses n/20 jobs.
 * TASQ_BENCH_SYSTEMS (e.g. "tasq,tasq-no-results") runs only the systems it names.
 *
 * Each system runs in a child process of its own (this module, started by cluster-common's runChild), so
 * its memory is its own; the tasq side (cluster start, timing, counters) is cluster-common's
 * runTasqCluster and a peer's worker is timed by its PeerRun, as on Redis and RabbitMQ. tasq's worker is
 * a separate process from its sentinel: both are reported. Peers are tuned as shared/bench-peers.md
 * describes (pg-boss cannot drain a backlog on its defaults).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// Types only at the top level: a peer's child must not load @tasq/core (its memory would count against
// the peer), so tasq's code paths import it when they run.
import type { TasqConfigInput } from '@tasq/core';
import type { BenchContext, BenchRow, BenchSuite } from '../harness.js';
import {
  type ChildReport,
  CPU_COUNTER_UNITS,
  childSpec,
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
  workloadSizes,
} from './cluster-common.js';

export const POSTGRES_URL = process.env.TASQ_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const thisFile = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------- what a child runs and reports

export type SystemName =
  | 'tasq'
  | 'tasq-defaults'
  | 'tasq-no-results'
  | 'tasq-recycle-500'
  | 'pgboss'
  | 'pgboss-batch'
  | 'graphile'
  | 'graphile-local-queue';

export interface ChildSpec {
  system: SystemName;
  mode: 'throughput' | 'latency';
  dialect: 'postgres' | 'sqlite';
  jobs: number;
  concurrency: number;
  /** PostgreSQL schema or SQLite file of this run. */
  location: string;
  queue: string;
}

function tasqConfig(spec: ChildSpec): TasqConfigInput {
  const broker: TasqConfigInput =
    spec.dialect === 'postgres'
      ? { postgres: { url: POSTGRES_URL, schema: spec.location } }
      : { sqlite: spec.location };
  // What a user writes: the broker, the tasks, concurrency. One worker process as in every row (the
  // suites compare one worker process); bulk, queueLimit, recycle and saveLimit are the library's.
  if (spec.system === 'tasq-defaults')
    return {
      ...broker,
      secret: 'bench-secret',
      queue: spec.queue,
      tasks: [TASKS_MODULE],
      workers: 1,
      concurrency: spec.concurrency,
    };
  return {
    ...broker,
    secret: 'bench-secret',
    queue: spec.queue,
    tasks: [TASKS_MODULE],
    workers: 1,
    concurrency: spec.concurrency,
    // Fetch ahead (the counterpart of graphile-worker's localQueue and pg-boss's batchSize): at least
    // 10 per reserve so a single-slot worker is not waiting on the claim statement between jobs.
    bulk: Math.min(100, Math.max(10, spec.concurrency * 2)),
    queueLimit: Math.max(20, spec.concurrency * 4),
    // recycle: the reference's default of 500 tasks per worker costs a fresh Node process (~0.2-0.4 s of
    // CPU to start and import) per 500 jobs; peers never recycle, so these rows turn it off, except the
    // one that shows its cost.
    recycle: spec.system === 'tasq-recycle-500' ? 500 : 1_000_000,
    ...(spec.system === 'tasq-no-results' ? { saveLimit: -1 } : {}),
    // Latency reads every result back: keep them all.
    ...(spec.mode === 'latency' ? { saveLimit: 0 } : {}),
  };
}

async function runTasqChild(spec: ChildSpec): Promise<ChildReport> {
  const { resolveConfig } = await import('@tasq/core');
  return runTasqCluster(resolveConfig(tasqConfig(spec), { env: {} }), spec.mode, spec.jobs);
}

async function runPgBossChild(spec: ChildSpec): Promise<ChildReport> {
  const { PgBoss } = (await import('pg-boss')) as unknown as { PgBoss: new (options: object) => any };
  const batch = spec.system === 'pgboss-batch';
  const boss = new PgBoss({
    connectionString: POSTGRES_URL,
    schema: spec.location,
    max: spec.concurrency + 2,
    useListenNotify: true,
    monitorIntervalSeconds: 1,
    superviseIntervalSeconds: 1,
    queueCacheIntervalSeconds: 1,
  });
  boss.on('error', () => {});
  await boss.start();
  const run = new PeerRun(spec.jobs);
  run.ready();
  const workOptions = batch
    ? { localConcurrency: 1, batchSize: 50, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 }
    : {
        localConcurrency: spec.concurrency,
        batchSize: 1,
        burstWhenReadyExceeds: 1,
        pollingIntervalSeconds: 0.5,
        notifyPollingIntervalSeconds: 0.5,
      };
  if (spec.mode === 'throughput') {
    // The untimed wait the notes describe: the burst trigger reads a cached ready count.
    for (;;) {
      const queue = await boss.getQueue(spec.queue);
      if ((queue?.queuedCount ?? 0) >= spec.jobs) break;
      await sleep(100);
    }
  }
  await boss.work(spec.queue, workOptions, async (jobs: { data: { sentAt?: number } }[]) => {
    for (const job of jobs) run.handled(job.data?.sentAt);
  });
  if (spec.mode === 'latency') {
    for (let i = 0; i < spec.jobs; i++) {
      await boss.send(spec.queue, { sentAt: epochNow() });
      await sleep(LATENCY_SPACING_MS);
    }
  }
  await run.done;
  const report = run.report();
  await boss.stop({ graceful: false, wait: false }).catch(() => {});
  return report;
}

async function runGraphileChild(spec: ChildSpec): Promise<ChildReport> {
  const graphile = (await import('graphile-worker')) as any;
  const localQueue = spec.system === 'graphile-local-queue';
  const run = new PeerRun(spec.jobs);
  // Before run(): the runner may already be working the backlog when run() resolves, so there is no
  // idle moment after it to take the RSS at ready.
  run.ready();
  const runner = await graphile.run({
    connectionString: POSTGRES_URL,
    schema: spec.location,
    concurrency: spec.concurrency,
    maxPoolSize: Math.max(10, spec.concurrency + 2),
    noHandleSignals: true,
    logger: new graphile.Logger(() => () => {}),
    taskList: {
      noop: async (payload: { sentAt?: number }) => {
        run.handled(payload?.sentAt);
      },
    },
    ...(localQueue
      ? { preset: { worker: { localQueue: { size: spec.concurrency + 1 }, completeJobBatchDelay: 0 } } }
      : {}),
  });
  if (spec.mode === 'latency') {
    const utils = await graphile.makeWorkerUtils({ connectionString: POSTGRES_URL, schema: spec.location });
    for (let i = 0; i < spec.jobs; i++) {
      await utils.addJob('noop', { sentAt: epochNow() });
      await sleep(LATENCY_SPACING_MS);
    }
    await run.done;
    await utils.release();
  }
  await run.done;
  const report = run.report();
  await runner.stop().catch(() => {});
  return report;
}

const spec = childSpec<ChildSpec>();
if (spec) {
  const report = spec.system.startsWith('tasq')
    ? await runTasqChild(spec)
    : spec.system.startsWith('pgboss')
      ? await runPgBossChild(spec)
      : await runGraphileChild(spec);
  reportToParent(report);
}

// ---------------------------------------------------------------- the parent: prepare, run, collect

async function withPostgres<T>(run: (client: import('pg').Client) => Promise<T>): Promise<T> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** Enqueue `jobs` no-op jobs for `system` in bulk (chunks of 1,000), untimed. */
async function preload(spec: ChildSpec): Promise<void> {
  const chunks = (size: number) => {
    const list: number[] = [];
    for (let i = 0; i < spec.jobs; i += size) list.push(Math.min(size, spec.jobs - i));
    return list;
  };
  if (spec.system.startsWith('tasq')) {
    const { resolveConfig, Tasq } = await import('@tasq/core');
    const tasq = await Tasq.open(resolveConfig(tasqConfig(spec), { env: {} }));
    try {
      for (const size of chunks(1_000))
        await tasq.enqueueMany(
          e2eNoop,
          Array.from({ length: size }, () => []),
        );
    } finally {
      await tasq.close();
    }
    return;
  }
  if (spec.system.startsWith('pgboss')) {
    const { PgBoss } = (await import('pg-boss')) as unknown as { PgBoss: new (options: object) => any };
    const boss = new PgBoss({
      connectionString: POSTGRES_URL,
      schema: spec.location,
      max: 4,
      supervise: false,
    });
    boss.on('error', () => {});
    await boss.start();
    await boss.createQueue(spec.queue, { notify: true });
    for (const size of chunks(1_000))
      await boss.insert(
        spec.queue,
        Array.from({ length: size }, () => ({ data: {} })),
      );
    await boss.stop({ graceful: false, wait: true }).catch(() => {});
    return;
  }
  const graphile = (await import('graphile-worker')) as any;
  const utils = await graphile.makeWorkerUtils({ connectionString: POSTGRES_URL, schema: spec.location });
  try {
    await utils.migrate();
    for (const size of chunks(1_000)) {
      await utils.addJobs(Array.from({ length: size }, () => ({ identifier: 'noop', payload: {} })));
    }
  } finally {
    await utils.release();
  }
}

/** Prepare an empty queue for a latency run (schemas and queues exist before the clock starts). */
async function prepareEmpty(spec: ChildSpec): Promise<void> {
  if (spec.system.startsWith('pgboss')) {
    const { PgBoss } = (await import('pg-boss')) as unknown as { PgBoss: new (options: object) => any };
    const boss = new PgBoss({
      connectionString: POSTGRES_URL,
      schema: spec.location,
      max: 2,
      supervise: false,
    });
    boss.on('error', () => {});
    await boss.start();
    await boss.createQueue(spec.queue, { notify: true });
    await boss.stop({ graceful: false, wait: true }).catch(() => {});
  } else if (spec.system.startsWith('graphile')) {
    const graphile = (await import('graphile-worker')) as any;
    const utils = await graphile.makeWorkerUtils({ connectionString: POSTGRES_URL, schema: spec.location });
    await utils.migrate();
    await utils.release();
  } else {
    const { resolveConfig, Tasq } = await import('@tasq/core');
    const tasq = await Tasq.open(resolveConfig(tasqConfig(spec), { env: {} }));
    await tasq.close();
  }
}

async function cleanup(spec: ChildSpec): Promise<void> {
  if (spec.dialect === 'sqlite') {
    rmSync(path.dirname(spec.location), { recursive: true, force: true });
    return;
  }
  await withPostgres((client) => client.query(`DROP SCHEMA IF EXISTS "${spec.location}" CASCADE`));
}

function newSpec(
  system: SystemName,
  mode: ChildSpec['mode'],
  dialect: ChildSpec['dialect'],
  jobs: number,
  concurrency: number,
): ChildSpec {
  const id = randomBytes(4).toString('hex');
  const location =
    dialect === 'sqlite'
      ? path.join(mkdtempSync(path.join(tmpdir(), 'tasq-bench-')), 'tasq.db')
      : `bench_${SHORT[system]}_${id}`;
  return { system, mode, dialect, jobs, concurrency, location, queue: `bench-${id}` };
}

/** Short schema names: the orm allows 30 characters. */
const SHORT: Record<SystemName, string> = {
  tasq: 'tq',
  'tasq-defaults': 'tqd',
  'tasq-no-results': 'tqn',
  'tasq-recycle-500': 'tqr',
  pgboss: 'pb',
  'pgboss-batch': 'pbb',
  graphile: 'gw',
  'graphile-local-queue': 'gwl',
};

const LABELS: Record<SystemName, string> = {
  tasq: 'tasq (results saved)',
  'tasq-defaults': 'tasq on defaults (only concurrency set; results saved)',
  'tasq-no-results': 'tasq (saveLimit -1)',
  'tasq-recycle-500': 'tasq (results saved, recycle 500)',
  pgboss: 'pg-boss 12.35, tuned burst',
  'pgboss-batch': 'pg-boss 12.35, batchSize 50',
  graphile: 'graphile-worker 0.18 (defaults)',
  'graphile-local-queue': 'graphile-worker 0.18, localQueue',
};

export interface Plan {
  system: SystemName;
  concurrency: number;
}

/**
 * Run every chosen plan once per round (interleaved), then the chosen latency systems once per round;
 * throughput rows in plan order.
 */
export async function endToEnd(
  context: BenchContext,
  suiteName: string,
  dialect: ChildSpec['dialect'],
  plans: Plan[],
  latencySystems: SystemName[],
): Promise<BenchRow[]> {
  const { jobs, latencyJobs } = workloadSizes(context.n);
  const results = new Results(suiteName, jobs, latencyJobs);
  const chosen = chosenSystems(context);
  const label = (system: SystemName) => `${LABELS[system]} [${dialect}]`;
  const run = (spec: ChildSpec) =>
    runChild(thisFile, spec, `${spec.system} ${spec.mode}`, !spec.system.startsWith('tasq'));
  for (let round = 1; round <= context.rounds; round++) {
    for (const plan of plans.filter((entry) => chosen(entry.system, entry.concurrency))) {
      const spec = newSpec(plan.system, 'throughput', dialect, jobs, plan.concurrency);
      try {
        await preload(spec);
        const report = await run(spec);
        context.log(`round ${round} ${results.addThroughput(label(plan.system), plan.concurrency, report)}`);
      } finally {
        await cleanup(spec);
      }
    }
  }
  for (let round = 1; round <= context.rounds; round++) {
    for (const system of latencySystems.filter((system) => chosen(system))) {
      const spec = newSpec(system, 'latency', dialect, latencyJobs, 1);
      try {
        await prepareEmpty(spec);
        const report = await run(spec);
        context.log(`round ${round} ${results.addLatency(label(system), report)}`);
      } finally {
        await cleanup(spec);
      }
    }
  }
  return results.rows(CPU_COUNTER_UNITS);
}

export const suite: BenchSuite = {
  name: 'cluster-postgres',
  description:
    'tasq cluster end to end on PostgreSQL beside pg-boss 12.35 and graphile-worker 0.18 (throughput c=1/c=50, enqueue→start latency, worker RSS)',
  run: (context) =>
    endToEnd(
      context,
      'cluster-postgres',
      'postgres',
      [
        { system: 'tasq', concurrency: 1 },
        { system: 'tasq', concurrency: 50 },
        { system: 'tasq-defaults', concurrency: 1 },
        { system: 'tasq-defaults', concurrency: 50 },
        { system: 'tasq-no-results', concurrency: 50 },
        { system: 'tasq-recycle-500', concurrency: 50 },
        { system: 'pgboss', concurrency: 1 },
        { system: 'pgboss', concurrency: 50 },
        { system: 'pgboss-batch', concurrency: 50 },
        { system: 'graphile', concurrency: 1 },
        { system: 'graphile', concurrency: 50 },
        { system: 'graphile-local-queue', concurrency: 1 },
        { system: 'graphile-local-queue', concurrency: 50 },
      ],
      ['tasq', 'pgboss', 'graphile', 'graphile-local-queue'],
    ),
};
