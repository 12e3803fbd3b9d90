/**
 * End to end on Redis: a whole tasq cluster (sentinel + one worker process, @tasq/redis as broker and
 * result backend) beside BullMQ 6.7 and bee-queue 2.0 on the same server, in the same run, rounds
 * interleaved. Each system runs in a child process of its own (this module, started by cluster-common's
 * runChild); the peers run their own Worker / process() with a no-op handler.
 *
 * - throughput: n/4 no-op jobs (5,000 at the default --n; `--n 80000` gives 20,000) enqueued in bulk
 *   first (untimed), then one worker process starts; timed from the first handler start to the last
 *   handler end, for every system alike; concurrency 1 and 50.
 * - latency: an idle worker (concurrency 1) and a producer that enqueues one job every 5 ms; enqueue→start
 *   p50/p99 over n/20 jobs.
 * - memory: worker peak RSS while it drains, and RSS at ready; tasq's sentinel is reported too.
 * - Redis round trips per job, tasq only: every command tasq's ioredis connections send is counted in
 *   the sentinel's process (a wrapper around `Redis.prototype.sendCommand`; a pipeline counts as one
 *   round trip), from cluster start to cluster stop, divided by the jobs. The server is shared, so INFO
 *   commandstats deltas would count other clients too (and count the commands a Lua script calls).
 *
 * Peers as shared/bench-peers.md tunes them: "defaults" keep completed jobs and publish events (bee-queue
 * with getEvents:false, since nobody listens); "lean" rows remove completed jobs (BullMQ
 * `removeOnComplete`/`removeOnFail`, bee-queue `removeOnSuccess` + `sendEvents: false`). BullMQ speaks
 * RESP2 like tasq and bee-queue (as in the broker-level redis suite).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TasqConfigInput } from '@tasq/core';
import type { BenchContext, BenchRow, BenchSuite } from '../harness.js';
import { deleteRedisKeys, redisAnswers } from '../redis-cleanup.js';
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

const REDIS_URL = process.env.TASQ_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const { hostname: HOST, port: PORT_TEXT } = new URL(REDIS_URL);
const PORT = Number(PORT_TEXT || 6379);
const thisFile = fileURLToPath(import.meta.url);

type SystemName =
  | 'tasq'
  | 'tasq-defaults'
  | 'tasq-no-results'
  | 'tasq-inline'
  | 'tasq-baseline'
  | 'bullmq'
  | 'bullmq-lean'
  | 'bee'
  | 'bee-lean';

/**
 * `TASQ_BENCH_BASELINE`: the root of another built checkout of this repository (say, the commit before
 * a change). Its tasq system ("tasq-baseline") runs beside this one, rounds interleaved, from that
 * checkout's own cluster-redis child, so a change is measured against what came before in one run.
 * The jobs are enqueued (untimed) by this checkout's client in both cases.
 */
const BASELINE = process.env.TASQ_BENCH_BASELINE;
const BASELINE_CHILD = BASELINE ? `${BASELINE}/apps/bench/dist/suites/cluster-redis.js` : undefined;

interface Spec {
  system: SystemName;
  mode: 'throughput' | 'latency';
  jobs: number;
  concurrency: number;
  /** Every key of this run starts with it. */
  prefix: string;
  queue: string;
}

const LABELS: Record<SystemName, string> = {
  tasq: 'tasq cluster (results saved)',
  'tasq-defaults': 'tasq cluster on defaults (only concurrency set; results saved)',
  'tasq-no-results': 'tasq cluster (saveLimit -1)',
  'tasq-inline': 'tasq cluster, pool inline (results saved)',
  'tasq-baseline': 'tasq cluster (results saved), TASQ_BENCH_BASELINE build',
  bullmq: 'BullMQ 6.7 (defaults)',
  'bullmq-lean': 'BullMQ 6.7, removeOnComplete',
  bee: 'bee-queue 2.0 (defaults)',
  'bee-lean': 'bee-queue 2.0, removeOnSuccess + sendEvents:false',
};

function tasqConfig(spec: Spec): TasqConfigInput {
  // What a user writes: the broker, the tasks, concurrency. One worker process as in every row (the
  // suites compare one worker process); bulk, queueLimit, recycle and saveLimit are the library's.
  if (spec.system === 'tasq-defaults')
    return {
      redis: { url: REDIS_URL, prefix: spec.prefix },
      secret: 'bench-secret',
      queue: spec.queue,
      tasks: [TASKS_MODULE],
      workers: 1,
      concurrency: spec.concurrency,
    };
  return {
    redis: { url: REDIS_URL, prefix: spec.prefix },
    secret: 'bench-secret',
    queue: spec.queue,
    tasks: [TASKS_MODULE],
    workers: 1,
    concurrency: spec.concurrency,
    // As in cluster-postgres: fetch ahead, at least 10 per reserve so one slot is never waiting on the
    // reserve round trip; hold up to 4 × c.
    bulk: Math.min(100, Math.max(10, spec.concurrency * 2)),
    queueLimit: Math.max(20, spec.concurrency * 4),
    // The reference's recycle default (500) restarts the worker process every 500 jobs; peers never do.
    recycle: 1_000_000,
    ...(spec.system === 'tasq-no-results' ? { saveLimit: -1 } : {}),
    // Tasks on the cluster's own event loop, as the peers run their handlers: no worker process.
    ...(spec.system === 'tasq-inline' ? { pool: 'inline' as const } : {}),
    // Latency reads every result back: keep them all.
    ...(spec.mode === 'latency' ? { saveLimit: 0 } : {}),
  };
}

// ---------------------------------------------------------------- children

/** Names of tasq's Lua scripts by SHA-1, so EVALSHA calls can be told apart. */
function scriptNames(): Map<string, string> {
  const names = new Map<string, string>();
  const folder = new URL('../lua/', import.meta.resolve('@tasq/redis'));
  for (const file of readdirSync(folder)) {
    if (!file.endsWith('.lua')) continue;
    const lua = readFileSync(new URL(file, folder), 'utf8');
    names.set(createHash('sha1').update(lua).digest('hex'), file.replace(/\.lua$/, ''));
  }
  return names;
}

/**
 * Count every command ioredis sends from this process, by name (EVALSHA by script), and the round trips
 * (a command sent on its own, or one pipeline). Call before the cluster opens its connections.
 */
async function countRedisCommands(): Promise<() => { commands: Map<string, number>; roundTrips: number }> {
  const { Redis, Pipeline } = await import('ioredis');
  const shaNames = scriptNames();
  const commands = new Map<string, number>();
  let roundTrips = 0;
  type Send = (
    this: unknown,
    command: { name: string; args: unknown[] },
    stream?: unknown,
    node?: unknown,
  ) => unknown;
  const prototype = Redis.prototype as unknown as { sendCommand: Send };
  const send = prototype.sendCommand;
  prototype.sendCommand = function (command, stream, node) {
    const sha = String(command.args[0]);
    const name =
      command.name === 'evalsha' ? `evalsha ${shaNames.get(sha) ?? sha.slice(0, 8)}` : command.name;
    commands.set(name, (commands.get(name) ?? 0) + 1);
    // Commands of a pipeline arrive here with the pipeline's stream; the pipeline is counted at exec.
    if (stream === undefined) roundTrips++;
    return send.call(this, command, stream, node);
  };
  const pipelinePrototype = Pipeline.prototype as unknown as { exec: (...rest: unknown[]) => unknown };
  const exec = pipelinePrototype.exec;
  pipelinePrototype.exec = function (...rest: unknown[]) {
    roundTrips++;
    return exec.apply(this, rest);
  };
  return () => ({ commands, roundTrips });
}

async function runTasqChild(spec: Spec): Promise<ChildReport> {
  const counted = spec.mode === 'throughput' ? await countRedisCommands() : undefined;
  const { resolveConfig } = await import('@tasq/core');
  const report = await runTasqCluster(resolveConfig(tasqConfig(spec), { env: {} }), spec.mode, spec.jobs);
  if (counted) {
    const { commands, roundTrips } = counted();
    const counters: Record<string, number> = {
      'Redis round trips per job': roundTrips / spec.jobs,
      'Redis commands per job': [...commands.values()].reduce((a, b) => a + b, 0) / spec.jobs,
    };
    for (const [name, count] of commands) counters[`  ${name} per job`] = count / spec.jobs;
    report.counters = { ...report.counters, ...counters };
  }
  return report;
}

async function runBullmqChild(spec: Spec): Promise<ChildReport> {
  const { Queue, Worker } = await import('bullmq');
  const connection = { host: HOST, port: PORT, maxRetriesPerRequest: null, protocol: 2 as const };
  const lean = spec.system === 'bullmq-lean';
  const run = new PeerRun(spec.jobs);
  const worker = new Worker(
    spec.queue,
    async (job) => {
      run.handled((job.data as { sentAt?: number }).sentAt);
    },
    { connection, prefix: spec.prefix, concurrency: spec.concurrency, autorun: false },
  );
  await worker.waitUntilReady();
  run.ready();
  void worker.run();
  if (spec.mode === 'latency') {
    const queue = new Queue(spec.queue, {
      connection,
      prefix: spec.prefix,
      defaultJobOptions: jobOptions(lean),
    });
    await queue.waitUntilReady();
    await sleep(100);
    for (let i = 0; i < spec.jobs; i++) {
      await queue.add('noop', { sentAt: epochNow() });
      await sleep(LATENCY_SPACING_MS);
    }
    await run.done;
    await queue.close();
  }
  await run.done;
  const report = run.report();
  await worker.close(true).catch(() => undefined);
  return report;
}

function jobOptions(lean: boolean) {
  return lean ? { removeOnComplete: true, removeOnFail: true } : {};
}

async function runBeeChild(spec: Spec): Promise<ChildReport> {
  const BeeQueue = (await import('bee-queue')).default;
  const lean = spec.system === 'bee-lean';
  const worker = new BeeQueue(spec.queue, {
    prefix: spec.prefix,
    redis: { host: HOST, port: PORT },
    isWorker: true,
    getEvents: false,
    ...(lean ? { removeOnSuccess: true, removeOnFailure: true, sendEvents: false } : {}),
  });
  await worker.ready();
  const run = new PeerRun(spec.jobs);
  run.ready();
  worker.process(spec.concurrency, async (job) => {
    run.handled((job.data as { sentAt?: number }).sentAt);
  });
  if (spec.mode === 'latency') {
    const producer = new BeeQueue(spec.queue, {
      prefix: spec.prefix,
      redis: { host: HOST, port: PORT },
      isWorker: false,
      getEvents: false,
    });
    await producer.ready();
    await sleep(100);
    for (let i = 0; i < spec.jobs; i++) {
      await producer.createJob({ sentAt: epochNow() }).save();
      await sleep(LATENCY_SPACING_MS);
    }
    await run.done;
    await producer.close(1000).catch(() => undefined);
  }
  await run.done;
  const report = run.report();
  await worker.close(1000).catch(() => undefined);
  return report;
}

const spec = childSpec<Spec>();
if (spec) {
  const report = spec.system.startsWith('tasq')
    ? await runTasqChild(spec)
    : spec.system.startsWith('bullmq')
      ? await runBullmqChild(spec)
      : await runBeeChild(spec);
  reportToParent(report);
}

// ---------------------------------------------------------------- the parent: prepare, run, collect

function chunks(total: number, size: number): number[] {
  const list: number[] = [];
  for (let i = 0; i < total; i += size) list.push(Math.min(size, total - i));
  return list;
}

/** Enqueue the run's no-op jobs in bulk (chunks of 1,000), untimed. */
async function preload(spec: Spec): Promise<void> {
  if (spec.system.startsWith('tasq')) {
    const { resolveConfig, Tasq } = await import('@tasq/core');
    const tasq = await Tasq.open(resolveConfig(tasqConfig(spec), { env: {} }));
    try {
      for (const size of chunks(spec.jobs, 1_000))
        await tasq.enqueueMany(
          e2eNoop,
          Array.from({ length: size }, () => []),
        );
    } finally {
      await tasq.close();
    }
  } else if (spec.system.startsWith('bullmq')) {
    const { Queue } = await import('bullmq');
    const connection = { host: HOST, port: PORT, maxRetriesPerRequest: null, protocol: 2 as const };
    const queue = new Queue(spec.queue, {
      connection,
      prefix: spec.prefix,
      defaultJobOptions: jobOptions(spec.system === 'bullmq-lean'),
    });
    try {
      for (const size of chunks(spec.jobs, 1_000))
        await queue.addBulk(Array.from({ length: size }, () => ({ name: 'noop', data: {} })));
    } finally {
      await queue.close();
    }
  } else {
    const BeeQueue = (await import('bee-queue')).default;
    const queue = new BeeQueue(spec.queue, {
      prefix: spec.prefix,
      redis: { host: HOST, port: PORT },
      isWorker: false,
      getEvents: false,
    });
    try {
      await queue.ready();
      for (const size of chunks(spec.jobs, 1_000))
        await queue.saveAll(Array.from({ length: size }, () => queue.createJob({})));
    } finally {
      await queue.close(1000).catch(() => undefined);
    }
  }
}

/** Latency runs start on an empty queue whose keys and scripts exist (tasq: loads its scripts). */
async function prepareEmpty(spec: Spec): Promise<void> {
  if (!spec.system.startsWith('tasq')) return;
  const { resolveConfig, Tasq } = await import('@tasq/core');
  const tasq = await Tasq.open(resolveConfig(tasqConfig(spec), { env: {} }));
  await tasq.close();
}

interface Plan {
  system: SystemName;
  concurrency: number;
}

const PLANS: Plan[] = [
  { system: 'tasq', concurrency: 1 },
  { system: 'tasq', concurrency: 50 },
  { system: 'tasq-defaults', concurrency: 1 },
  { system: 'tasq-defaults', concurrency: 50 },
  { system: 'tasq-no-results', concurrency: 1 },
  { system: 'tasq-no-results', concurrency: 50 },
  { system: 'tasq-inline', concurrency: 1 },
  { system: 'tasq-inline', concurrency: 50 },
  ...(BASELINE_CHILD
    ? ([
        { system: 'tasq-baseline', concurrency: 1 },
        { system: 'tasq-baseline', concurrency: 50 },
      ] as const)
    : []),
  { system: 'bullmq', concurrency: 1 },
  { system: 'bullmq', concurrency: 50 },
  { system: 'bullmq-lean', concurrency: 1 },
  { system: 'bullmq-lean', concurrency: 50 },
  { system: 'bee', concurrency: 1 },
  { system: 'bee', concurrency: 50 },
  { system: 'bee-lean', concurrency: 1 },
  { system: 'bee-lean', concurrency: 50 },
];
const LATENCY_SYSTEMS: SystemName[] = ['tasq', 'bullmq', 'bee'];

const COUNTERS = {
  ...CPU_COUNTER_UNITS,
  'Redis round trips per job': {
    unit: 'per job',
    notes: "client-side count of tasq's ioredis calls (a pipeline = 1), cluster start to stop, ÷ jobs",
  },
  'Redis commands per job': { unit: 'per job', notes: 'every command sent, pipelined ones included' },
};

export const suite: BenchSuite = {
  name: 'cluster-redis',
  description:
    'tasq cluster end to end on Redis beside BullMQ 6.7 and bee-queue 2.0 (throughput c=1/c=50, enqueue→start latency, worker RSS, Redis round trips per job)',
  async run(context: BenchContext): Promise<BenchRow[]> {
    if (!(await redisAnswers(REDIS_URL))) {
      context.log(`Redis at ${REDIS_URL} does not answer: no rows`);
      return [];
    }
    const { jobs, latencyJobs } = workloadSizes(context.n);
    const runId = randomBytes(3).toString('hex');
    const results = new Results('cluster-redis', jobs, latencyJobs);
    const chosen = chosenSystems(context);
    const newSpec = (system: SystemName, mode: Spec['mode'], concurrency: number): Spec => {
      const id = randomBytes(3).toString('hex');
      return {
        system,
        mode,
        jobs: mode === 'throughput' ? jobs : latencyJobs,
        concurrency,
        prefix: `tasq-bench-e2e-${runId}-${id}`,
        queue: `bench-${id}`,
      };
    };
    for (let round = 1; round <= context.rounds; round++) {
      for (const plan of PLANS.filter((entry) => chosen(entry.system, entry.concurrency))) {
        const spec = newSpec(plan.system, 'throughput', plan.concurrency);
        try {
          await preload(spec);
          const report = await withServerCpu('redis-server', spec.jobs, () =>
            spec.system === 'tasq-baseline'
              ? runChild(BASELINE_CHILD!, { ...spec, system: 'tasq' }, 'tasq-baseline throughput', false)
              : runChild(thisFile, spec, `${spec.system} ${spec.mode}`, !spec.system.startsWith('tasq')),
          );
          context.log(
            `round ${round} ${results.addThroughput(LABELS[plan.system], plan.concurrency, report)}`,
          );
        } finally {
          await deleteRedisKeys(REDIS_URL, spec.prefix);
        }
      }
    }
    for (let round = 1; round <= context.rounds; round++) {
      for (const system of LATENCY_SYSTEMS.filter((system) => chosen(system))) {
        const spec = newSpec(system, 'latency', 1);
        try {
          await prepareEmpty(spec);
          const report = await runChild(
            thisFile,
            spec,
            `${spec.system} ${spec.mode}`,
            !spec.system.startsWith('tasq'),
          );
          context.log(`round ${round} ${results.addLatency(LABELS[system], report)}`);
        } finally {
          await deleteRedisKeys(REDIS_URL, spec.prefix);
        }
      }
    }
    await deleteRedisKeys(REDIS_URL, `tasq-bench-e2e-${runId}`);
    return results.rows(COUNTERS);
  },
};
