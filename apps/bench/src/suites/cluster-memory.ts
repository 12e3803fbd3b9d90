/**
 * The cluster supervisor's memory over a long run: a tasq cluster on library defaults (only
 * `concurrency: 50` set; one worker process; Redis as broker and result backend; results saved with the
 * default saveLimit) drains `--n` no-op jobs (default 200,000; `--n 1000000` is one million), all
 * enqueued ahead in bulk by this suite's process (untimed) so the sentinel's figures hold its own work
 * only.
 *
 * The sentinel runs in a child process (as in cluster-redis) and samples itself: `process.memoryUsage()`
 * every second and at every tenth of the jobs, RSS every 20 ms for the peak, V8's heap spaces at ready
 * and at the end. It reports RSS (and heap used / heap total) at ready, 10%, 50%, 90% and 100%, the
 * peak, and the slope of RSS over the second half in MiB per 100,000 jobs (flat ≈ 0); the worker's RSS
 * and private memory after the last job; jobs/s and CPU per job. The per-second series goes to
 * `results/cluster-memory-series-<timestamp>.json`.
 *
 * - `TASQ_BENCH_SENTINEL_FLAGS`: Node flag sets for the sentinel, separated by `;` (e.g.
 *   `--max-semi-space-size=4;--max-semi-space-size=8`): each is a row of its own beside the plain one,
 *   rounds interleaved. Its worker keeps the runtime's default flags.
 * - `TASQ_BENCH_BASELINE`: the root of another built checkout; its tasq runs beside this one, from this
 *   suite's built file copied into its `apps/bench/dist/suites/` (with cluster-common.js and harness.js).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import type { TasqConfigInput } from '@tasq/core';
import type { BenchContext, BenchRow, BenchSuite } from '../harness.js';
import {
  type ChildReport,
  CPU_COUNTER_UNITS,
  CPU_COUNTERS,
  childSpec,
  e2eNoop,
  fromFirstStart,
  MIB,
  privateBytesOf,
  reportToParent,
  rssOf,
  rssSampler,
  runChild,
  TASKS_MODULE,
} from './cluster-common.js';

const REDIS_URL = process.env.TASQ_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const thisFile = fileURLToPath(import.meta.url);
const BASELINE = process.env.TASQ_BENCH_BASELINE;
/** The points of the run reported as rows (percent of the jobs); every tenth is in the series. */
const REPORTED_MARKS = [10, 50, 90, 100];

interface Spec {
  jobs: number;
  prefix: string;
  queue: string;
  /** Node flags given to this sentinel: its worker is then given the runtime's default flags explicitly. */
  sentinelFlags: string[];
}

/** One look at the sentinel's memory. */
interface Sample {
  /** Seconds since the cluster was ready. */
  seconds: number;
  /** Jobs succeeded by then. */
  jobs: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

interface MemoryReport extends ChildReport {
  /** Every second, plus one at each tenth of the jobs. */
  series: Sample[];
  /** At ready, then at each tenth (10, 20 ... 100). */
  marks: Array<Sample & { percent: number }>;
  /** V8's heap spaces (physical bytes) at ready and after the last job. */
  heapSpaces: { ready: Record<string, number>; end: Record<string, number> };
}

function tasqConfig(spec: Spec): TasqConfigInput {
  // What a user writes: the broker, the tasks, concurrency; one worker process as in every suite.
  return {
    redis: { url: REDIS_URL, prefix: spec.prefix },
    secret: 'bench-secret',
    queue: spec.queue,
    tasks: [TASKS_MODULE],
    workers: 1,
    concurrency: 50,
  };
}

// ---------------------------------------------------------------- the child: the sentinel

function sampleNow(startedAt: number, jobs: number): Sample {
  const usage = process.memoryUsage();
  return {
    seconds: (performance.now() - startedAt) / 1000,
    jobs,
    rss: usage.rss,
    heapUsed: usage.heapUsed,
    heapTotal: usage.heapTotal,
    external: usage.external,
  };
}

function heapSpaces(): Record<string, number> {
  const spaces: Record<string, number> = {};
  for (const space of v8.getHeapSpaceStatistics())
    if (space.physical_space_size > 0) spaces[space.space_name] = space.physical_space_size;
  return spaces;
}

const mib = (bytes: number) => (bytes / MIB).toFixed(1);

function progressLine(mark: Sample & { percent: number }): string {
  return `${mark.percent}% (${mark.jobs} jobs, ${mark.seconds.toFixed(0)} s): sentinel RSS ${mib(mark.rss)} MiB, heap used ${mib(mark.heapUsed)} / total ${mib(mark.heapTotal)} MiB`;
}

async function runSentinelChild(spec: Spec): Promise<MemoryReport> {
  const { startCluster } = await import('@tasq/cluster');
  const { resolveConfig } = await import('@tasq/core');
  const config = resolveConfig(tasqConfig(spec), { env: {} });
  // A sentinel given flags of its own would pass them on to its worker: give the worker what it gets
  // by default (the flags this child was started with, and the runtime's small young generation).
  const workerExecArgv = ['--disable-warning=ExperimentalWarning', '--max-semi-space-size=2'];
  const cluster = await startCluster(config, spec.sentinelFlags.length > 0 ? { workerExecArgv } : {});
  const readyAt = performance.now();
  const ready = { ...sampleNow(readyAt, 0), percent: 0 };
  const marks = [ready];
  const series: Sample[] = [ready];
  const readySpaces = heapSpaces();
  process.send?.({
    type: 'progress',
    line: `ready: sentinel RSS ${mib(ready.rss)} MiB, heap spaces ${spacesLine(readySpaces)}`,
  });
  const sentinelPeak = rssSampler(() => process.memoryUsage.rss());
  const workerPid = () => cluster.workers()[0]?.pid;
  const workerPeak = rssSampler(() => rssOf(workerPid()));
  const sampler = setInterval(() => series.push(sampleNow(readyAt, cluster.stats.succeeded)), 1000);

  const since = fromFirstStart(cluster);
  let nextPercent = 10;
  await new Promise<void>((resolve) => {
    const check = () => {
      const done = cluster.stats.succeeded;
      // One comparison per job; the sample and the progress message once per tenth.
      while (nextPercent <= 100 && done >= (spec.jobs * nextPercent) / 100) {
        const mark = { ...sampleNow(readyAt, done), percent: nextPercent };
        marks.push(mark);
        series.push(mark);
        process.send?.({ type: 'progress', line: progressLine(mark) });
        nextPercent += 10;
      }
      if (done >= spec.jobs) resolve();
    };
    cluster.events.on('task-succeeded', check);
    check();
  });
  const { seconds, sentinelCpuUs, workerCpuUs: workerCpu } = since.now();
  clearInterval(sampler);
  const endSpaces = heapSpaces();
  const report: MemoryReport = {
    seconds,
    workerPeakRss: workerPeak.peak(),
    workerReadyRss: 0,
    sentinelPeakRss: sentinelPeak.peak(),
    counters: {
      [CPU_COUNTERS.sentinel]: sentinelCpuUs / spec.jobs,
      [CPU_COUNTERS.worker]: workerCpu / spec.jobs,
      'worker RSS at end': rssOf(workerPid()),
      'worker private memory at end': privateBytesOf(workerPid()),
    },
    series,
    marks,
    heapSpaces: { ready: readySpaces, end: endSpaces },
  };
  workerPeak.stop();
  sentinelPeak.stop();
  await cluster.stop({ timeoutMs: 5_000 });
  return report;
}

function spacesLine(spaces: Record<string, number>): string {
  return Object.entries(spaces)
    .map(([name, bytes]) => `${name.replace(/_space$/, '')} ${mib(bytes)}`)
    .join(', ');
}

const spec = childSpec<Spec>();
if (spec) reportToParent(await runSentinelChild(spec));

// ---------------------------------------------------------------- the parent

/**
 * Least-squares slope of RSS over jobs for the samples at or after half the jobs, in MiB per 100,000
 * jobs: how much the sentinel still grows once it has settled (flat ≈ 0).
 */
export function secondHalfSlope(series: Sample[], jobs: number, read: (sample: Sample) => number): number {
  const points = series.filter((sample) => sample.jobs >= jobs / 2);
  if (points.length < 2) return Number.NaN;
  const meanX = points.reduce((sum, p) => sum + p.jobs, 0) / points.length;
  const meanY = points.reduce((sum, p) => sum + read(p), 0) / points.length;
  let covariance = 0;
  let variance = 0;
  for (const p of points) {
    covariance += (p.jobs - meanX) * (read(p) - meanY);
    variance += (p.jobs - meanX) ** 2;
  }
  return variance === 0 ? Number.NaN : ((covariance / variance) * 100_000) / MIB;
}

/** Enqueue the jobs ahead, untimed: chunks of 1,000, a few in flight. */
async function preload(spec: Spec, log: (line: string) => void): Promise<void> {
  const { resolveConfig, Tasq } = await import('@tasq/core');
  const tasq = await Tasq.open(resolveConfig(tasqConfig(spec), { env: {} }));
  const started = performance.now();
  try {
    let sent = 0;
    const sendChunks = async () => {
      while (sent < spec.jobs) {
        const size = Math.min(1_000, spec.jobs - sent);
        sent += size;
        await tasq.enqueueMany(
          e2eNoop,
          Array.from({ length: size }, () => []),
        );
      }
    };
    await Promise.all([sendChunks(), sendChunks(), sendChunks(), sendChunks()]);
  } finally {
    await tasq.close();
  }
  const seconds = (performance.now() - started) / 1000;
  log(`enqueued ${spec.jobs} jobs in ${seconds.toFixed(1)} s (${Math.round(spec.jobs / seconds)}/s)`);
}

interface Variant {
  label: string;
  /** The child module: this file, or the baseline checkout's copy of it. */
  file: string;
  sentinelFlags: string[];
}

function variants(): Variant[] {
  const list: Variant[] = [
    { label: 'tasq on defaults (c=50, Redis, results saved)', file: thisFile, sentinelFlags: [] },
  ];
  for (const set of process.env.TASQ_BENCH_SENTINEL_FLAGS?.split(';') ?? []) {
    const flags = set.split(' ').filter(Boolean);
    if (flags.length > 0)
      list.push({
        label: `tasq on defaults, sentinel ${flags.join(' ')}`,
        file: thisFile,
        sentinelFlags: flags,
      });
  }
  if (BASELINE)
    list.push({
      label: 'tasq on defaults, TASQ_BENCH_BASELINE build',
      file: `${BASELINE}/apps/bench/dist/suites/cluster-memory.js`,
      sentinelFlags: [],
    });
  return list;
}

const COUNTERS: Record<string, { unit: string; notes: string }> = {
  ...CPU_COUNTER_UNITS,
  'worker RSS at end': { unit: 'MiB', notes: "the worker's RSS after the last job (shared pages included)" },
};

/** The rows of one variant: one value per round in each. */
class VariantRows {
  private readonly values = new Map<string, { unit: string; values: number[]; notes?: string }>();

  add(metric: string, unit: string, value: number, notes?: string): void {
    const entry = this.values.get(metric) ?? { unit, values: [], ...(notes ? { notes } : {}) };
    entry.values.push(value);
    this.values.set(metric, entry);
  }

  addReport(report: MemoryReport, jobs: number): void {
    this.add('end to end', 'jobs/s', jobs / report.seconds!, `${jobs} pre-enqueued no-op jobs, c=50`);
    for (const mark of report.marks.filter((m) => m.percent === 0 || REPORTED_MARKS.includes(m.percent))) {
      const at = mark.percent === 0 ? 'ready' : `${mark.percent}%`;
      this.add(`sentinel RSS at ${at}`, 'MiB', mark.rss / MIB);
    }
    this.add('sentinel peak RSS', 'MiB', report.sentinelPeakRss! / MIB, 'sampled every 20 ms');
    this.add(
      'sentinel RSS slope, second half',
      'MiB/100k jobs',
      secondHalfSlope(report.series, jobs, (s) => s.rss),
      'least squares over the samples from 50% to 100% of the jobs; flat ≈ 0',
    );
    for (const mark of report.marks.filter((m) => m.percent === 0 || REPORTED_MARKS.includes(m.percent))) {
      const at = mark.percent === 0 ? 'ready' : `${mark.percent}%`;
      this.add(`sentinel heap used at ${at}`, 'MiB', mark.heapUsed / MIB);
      this.add(`sentinel heap total at ${at}`, 'MiB', mark.heapTotal / MIB);
    }
    this.add(
      'sentinel heap used slope, second half',
      'MiB/100k jobs',
      secondHalfSlope(report.series, jobs, (s) => s.heapUsed),
    );
    for (const [moment, spaces] of Object.entries(report.heapSpaces))
      for (const name of ['new_space', 'old_space', 'code_space'])
        this.add(`sentinel V8 ${name.replace('_', ' ')} at ${moment}`, 'MiB', (spaces[name] ?? 0) / MIB);
    this.add(
      'worker peak RSS',
      'MiB',
      report.workerPeakRss / MIB,
      'the worker processes, sampled every 20 ms',
    );
    for (const [name, value] of Object.entries(report.counters ?? {})) {
      const described = COUNTERS[name];
      const inMib = name.includes('RSS') || name.includes('memory');
      this.add(name, described?.unit ?? '', inMib ? value / MIB : value, described?.notes);
    }
  }

  rows(system: string): BenchRow[] {
    return [...this.values].map(([metric, entry]) => ({
      suite: 'cluster-memory',
      system,
      metric,
      unit: entry.unit,
      values: entry.values,
      ...(entry.notes ? { notes: entry.notes } : {}),
    }));
  }
}

export const suite: BenchSuite = {
  name: 'cluster-memory',
  description:
    "the cluster supervisor's (sentinel's) memory over a long drain on library defaults: RSS at ready, 10/50/90/100%, peak, second-half slope; worker RSS and private memory; jobs/s",
  defaults: { n: 200_000, rounds: 1 },
  async run(context: BenchContext): Promise<BenchRow[]> {
    const { deleteRedisKeys, redisAnswers } = await import('../redis-cleanup.js');
    if (!(await redisAnswers(REDIS_URL))) {
      context.log(`Redis at ${REDIS_URL} does not answer: no rows`);
      return [];
    }
    const jobs = context.n;
    const list = variants();
    const byVariant = new Map(list.map((variant) => [variant, new VariantRows()]));
    const seriesOut: Array<{ system: string; round: number; report: MemoryReport }> = [];
    for (let round = 1; round <= context.rounds; round++) {
      for (const variant of list) {
        const id = randomBytes(3).toString('hex');
        const spec: Spec = {
          jobs,
          prefix: `tasq-bench-memory-${id}`,
          queue: `bench-memory-${id}`,
          sentinelFlags: variant.sentinelFlags,
        };
        try {
          await preload(spec, context.log);
          const report = (await runChild(variant.file, spec, variant.label, false, {
            execArgv: variant.sentinelFlags,
            // A loaded machine may run at a few hundred jobs a second.
            timeoutMs: 10 * 60_000 + jobs * 5,
            onMessage: (message) => {
              if (message.type === 'progress')
                context.log(`round ${round} ${variant.label}: ${message.line}`);
            },
          })) as MemoryReport;
          byVariant.get(variant)!.addReport(report, jobs);
          seriesOut.push({ system: variant.label, round, report });
          context.log(
            `round ${round} ${variant.label}: ${Math.round(jobs / report.seconds!)} jobs/s, sentinel peak ${mib(report.sentinelPeakRss!)} MiB`,
          );
        } finally {
          await deleteRedisKeys(REDIS_URL, spec.prefix);
        }
      }
    }
    const folder = new URL('../../results/', import.meta.url);
    mkdirSync(folder, { recursive: true });
    const file = new URL(
      `cluster-memory-series-${new Date().toISOString().replaceAll(':', '-')}.json`,
      folder,
    );
    writeFileSync(file, `${JSON.stringify({ jobs, runs: seriesOut }, null, 1)}\n`);
    context.log(`per-second series: ${fileURLToPath(file)}`);
    return list.flatMap((variant) => byVariant.get(variant)!.rows(variant.label));
  },
};
