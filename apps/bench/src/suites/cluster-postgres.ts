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
 *
 * Sizes: each throughput run uses n/4 jobs (5,000 at the default --n 20000, so a default run stays at a
 * few minutes); `--n 80000` gives the 20,000-job runs of the peer figures. Latency uses n/20 jobs.
 *
 * Each system runs in a child process of its own (this module, started with TASQ_BENCH_CHILD), so its
 * memory is its own. tasq's worker is a separate process from its sentinel: both are reported.
 * Peers are tuned as shared/bench-peers.md describes (pg-boss cannot drain a backlog on its defaults).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineTask, resolveConfig, Tasq, type TasqConfigInput } from '@tasq/core';
import { type BenchContext, type BenchRow, type BenchSuite, percentile } from '../harness.js';
import { epochNow, LATENCY_SPACING_MS, rssOf, rssSampler } from './cluster-common.js';

export const POSTGRES_URL = process.env.TASQ_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const thisFile = fileURLToPath(import.meta.url);

// The tasks the tasq workers run: this module is the cluster's `tasks` module (heavy imports below are
// dynamic, so a worker only loads @tasq/core).
export const noop = defineTask('bench.noop', () => null);
export const startedAt = defineTask(
  'bench.started-at',
  (sentAt: number) => performance.timeOrigin + performance.now() - sentAt,
);

// ---------------------------------------------------------------- what a child runs and reports

export type SystemName =
  | 'tasq'
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

export interface ChildReport {
  seconds?: number;
  latenciesMs?: number[];
  workerPeakRss: number;
  workerReadyRss: number;
  sentinelPeakRss?: number;
}

function tasqConfig(spec: ChildSpec): TasqConfigInput {
  const broker: TasqConfigInput =
    spec.dialect === 'postgres'
      ? { postgres: { url: POSTGRES_URL, schema: spec.location } }
      : { sqlite: spec.location };
  return {
    ...broker,
    secret: 'bench-secret',
    queue: spec.queue,
    tasks: [thisFile],
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
  const { startCluster } = await import('@tasq/cluster');
  const config = resolveConfig(tasqConfig(spec), { env: {} });
  const sentinel = rssSampler(() => process.memoryUsage.rss());
  if (spec.mode === 'throughput') {
    let firstStart: number | undefined;
    const cluster = await startCluster(config);
    const workerPid = cluster.workers()[0]?.pid;
    const workerReadyRss = rssOf(workerPid);
    const worker = rssSampler(() => rssOf(cluster.workers()[0]?.pid ?? workerPid));
    cluster.events.on('task-started', () => {
      firstStart ??= performance.now();
    });
    await new Promise<void>((resolve) => {
      const check = () => cluster.stats.succeeded >= spec.jobs && resolve();
      cluster.events.on('task-succeeded', check);
      check();
    });
    const seconds = (performance.now() - firstStart!) / 1000;
    const report = {
      seconds,
      workerPeakRss: worker.peak(),
      workerReadyRss,
      sentinelPeakRss: sentinel.peak(),
    };
    worker.stop();
    sentinel.stop();
    await cluster.stop({ timeoutMs: 5_000 });
    return report;
  }
  const cluster = await startCluster(config);
  const workerPid = cluster.workers()[0]?.pid;
  const workerReadyRss = rssOf(workerPid);
  const worker = rssSampler(() => rssOf(workerPid));
  const producer = await Tasq.open(config);
  const jobs = [];
  for (let i = 0; i < spec.jobs; i++) {
    jobs.push(await producer.enqueue(startedAt, epochNow()));
    await new Promise((resolve) => setTimeout(resolve, LATENCY_SPACING_MS));
  }
  const latenciesMs: number[] = [];
  for (const job of jobs) latenciesMs.push((await job.result({ timeout: 60_000 })) as number);
  const report = {
    latenciesMs,
    workerPeakRss: worker.peak(),
    workerReadyRss,
    sentinelPeakRss: sentinel.peak(),
  };
  worker.stop();
  sentinel.stop();
  await producer.close();
  await cluster.stop({ timeoutMs: 5_000 });
  return report;
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
  const readyRss = process.memoryUsage.rss();
  const sampler = rssSampler(() => process.memoryUsage.rss());
  let done = 0;
  let finished: () => void = () => {};
  const allDone = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const latenciesMs: number[] = [];
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
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  let firstStart: number | undefined;
  await boss.work(spec.queue, workOptions, async (jobs: { data: { sentAt?: number } }[]) => {
    firstStart ??= performance.now();
    for (const job of jobs) {
      if (job.data?.sentAt !== undefined) latenciesMs.push(epochNow() - job.data.sentAt);
    }
    done += jobs.length;
    if (done >= spec.jobs) finished();
  });
  if (spec.mode === 'latency') {
    for (let i = 0; i < spec.jobs; i++) {
      await boss.send(spec.queue, { sentAt: epochNow() });
      await new Promise((resolve) => setTimeout(resolve, LATENCY_SPACING_MS));
    }
  }
  await allDone;
  const seconds = (performance.now() - firstStart!) / 1000;
  const report = { seconds, latenciesMs, workerPeakRss: sampler.peak(), workerReadyRss: readyRss };
  sampler.stop();
  await boss.stop({ graceful: false, wait: false }).catch(() => {});
  return report;
}

async function runGraphileChild(spec: ChildSpec): Promise<ChildReport> {
  const graphile = (await import('graphile-worker')) as any;
  const localQueue = spec.system === 'graphile-local-queue';
  let done = 0;
  let finished: () => void = () => {};
  const allDone = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const latenciesMs: number[] = [];
  const readyRss = process.memoryUsage.rss();
  const sampler = rssSampler(() => process.memoryUsage.rss());
  let firstStart: number | undefined;
  const runner = await graphile.run({
    connectionString: POSTGRES_URL,
    schema: spec.location,
    concurrency: spec.concurrency,
    maxPoolSize: Math.max(10, spec.concurrency + 2),
    noHandleSignals: true,
    logger: new graphile.Logger(() => () => {}),
    taskList: {
      noop: async (payload: { sentAt?: number }) => {
        firstStart ??= performance.now();
        if (payload?.sentAt !== undefined) latenciesMs.push(epochNow() - payload.sentAt);
        done++;
        if (done >= spec.jobs) finished();
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
      await new Promise((resolve) => setTimeout(resolve, LATENCY_SPACING_MS));
    }
    await allDone;
    await utils.release();
  } else {
    await allDone;
  }
  const seconds = (performance.now() - firstStart!) / 1000;
  const report = { seconds, latenciesMs, workerPeakRss: sampler.peak(), workerReadyRss: readyRss };
  sampler.stop();
  await runner.stop().catch(() => {});
  return report;
}

if (process.env.TASQ_BENCH_CHILD) {
  const spec = JSON.parse(process.env.TASQ_BENCH_CHILD) as ChildSpec;
  // The tasq workers inherit this environment; they must import this module as tasks only.
  delete process.env.TASQ_BENCH_CHILD;
  const report = spec.system.startsWith('tasq')
    ? await runTasqChild(spec)
    : spec.system.startsWith('pgboss')
      ? await runPgBossChild(spec)
      : await runGraphileChild(spec);
  process.send?.({ type: 'report', report }, () => process.exit(0));
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
    const tasq = await Tasq.open(resolveConfig(tasqConfig(spec), { env: {} }));
    try {
      for (const size of chunks(1_000))
        await tasq.enqueueMany(
          noop,
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
    const tasq = await Tasq.open(resolveConfig(tasqConfig(spec), { env: {} }));
    await tasq.close();
  }
}

function runChild(spec: ChildSpec): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = fork(thisFile, [], {
      env: { ...process.env, TASQ_BENCH_CHILD: JSON.stringify(spec) },
      execArgv: ['--disable-warning=ExperimentalWarning'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let report: ChildReport | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000);
    child.on('message', (message: { type: string; report: ChildReport }) => {
      if (message.type === 'report') report = message.report;
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (report) resolve(report);
      else reject(new Error(`${spec.system} ${spec.mode} child exited with code ${code} without a report`));
    });
  });
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
  'tasq-no-results': 'tqn',
  'tasq-recycle-500': 'tqr',
  pgboss: 'pb',
  'pgboss-batch': 'pbb',
  graphile: 'gw',
  'graphile-local-queue': 'gwl',
};

const LABELS: Record<SystemName, string> = {
  tasq: 'tasq (results saved)',
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

/** Run every plan once per round (interleaved), then the latency runs; rows in plan order. */
export async function endToEnd(
  context: BenchContext,
  suiteName: string,
  dialect: ChildSpec['dialect'],
  plans: Plan[],
  latencySystems: SystemName[],
): Promise<BenchRow[]> {
  const jobs = Math.max(500, Math.round(context.n / 4));
  const latencyJobs = Math.max(100, Math.round(context.n / 20));
  const throughput = new Map<
    string,
    { rates: number[]; peak: number[]; ready: number[]; sentinel: number[] }
  >();
  const key = (plan: Plan) => `${plan.system}@${plan.concurrency}`;
  for (let round = 1; round <= context.rounds; round++) {
    for (const plan of plans) {
      const spec = newSpec(plan.system, 'throughput', dialect, jobs, plan.concurrency);
      try {
        await preload(spec);
        const report = await runChild(spec);
        const entry = throughput.get(key(plan)) ?? { rates: [], peak: [], ready: [], sentinel: [] };
        entry.rates.push(jobs / report.seconds!);
        entry.peak.push(report.workerPeakRss / 2 ** 20);
        entry.ready.push(report.workerReadyRss / 2 ** 20);
        if (report.sentinelPeakRss !== undefined) entry.sentinel.push(report.sentinelPeakRss / 2 ** 20);
        throughput.set(key(plan), entry);
        context.log(
          `round ${round} ${LABELS[plan.system]} c=${plan.concurrency}: ${Math.round(jobs / report.seconds!)} jobs/s, worker peak ${Math.round(report.workerPeakRss / 2 ** 20)} MiB`,
        );
      } finally {
        await cleanup(spec);
      }
    }
  }
  const rows: BenchRow[] = [];
  for (const plan of plans) {
    const entry = throughput.get(key(plan));
    if (!entry) continue;
    const system = `${LABELS[plan.system]} [${dialect}]`;
    const notes = `${jobs} pre-enqueued no-op jobs, one worker process, concurrency ${plan.concurrency}`;
    rows.push(
      {
        suite: suiteName,
        system,
        metric: `end to end c=${plan.concurrency}`,
        unit: 'jobs/s',
        values: entry.rates,
        notes,
      },
      {
        suite: suiteName,
        system,
        metric: `worker peak RSS c=${plan.concurrency}`,
        unit: 'MiB',
        values: entry.peak,
      },
      {
        suite: suiteName,
        system,
        metric: `worker RSS at ready c=${plan.concurrency}`,
        unit: 'MiB',
        values: entry.ready,
      },
    );
    if (entry.sentinel.length > 0) {
      rows.push({
        suite: suiteName,
        system,
        metric: `sentinel peak RSS c=${plan.concurrency}`,
        unit: 'MiB',
        values: entry.sentinel,
        notes: 'the cluster supervisor process (broker connection, fetcher, monitor); peers have none',
      });
    }
  }
  for (const system of latencySystems) {
    const p50: number[] = [];
    const p99: number[] = [];
    for (let round = 1; round <= context.rounds; round++) {
      const spec = newSpec(system, 'latency', dialect, latencyJobs, 1);
      try {
        await prepareEmpty(spec);
        const report = await runChild(spec);
        p50.push(percentile(report.latenciesMs!, 50));
        p99.push(percentile(report.latenciesMs!, 99));
        context.log(
          `round ${round} ${LABELS[system]} latency p50 ${p50.at(-1)!.toFixed(2)} ms, p99 ${p99.at(-1)!.toFixed(1)} ms`,
        );
      } finally {
        await cleanup(spec);
      }
    }
    const system_ = `${LABELS[system]} [${dialect}]`;
    const notes = `${latencyJobs} jobs, one every ${LATENCY_SPACING_MS} ms, idle worker c=1`;
    rows.push(
      { suite: suiteName, system: system_, metric: 'enqueue→start p50', unit: 'ms', values: p50, notes },
      { suite: suiteName, system: system_, metric: 'enqueue→start p99', unit: 'ms', values: p99, notes },
    );
  }
  return rows;
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
