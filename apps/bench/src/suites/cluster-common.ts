/**
 * What the end-to-end suites (PostgreSQL and SQLite, Redis, RabbitMQ) share: the tasks their tasq
 * workers run, child-process plumbing (every system runs in a child of its own, so its memory is its
 * own), RSS sampling, the tasq-cluster side of a run, the timing of a peer's worker, and the rows a run
 * gives.
 *
 * This module is also the clusters' `tasks` module, so its top level imports only @tasq/core (not in a
 * peer's child), the harness's statistics and Node: a worker process loads it, and its RSS at ready is
 * part of the figures.
 *
 * Timing is the same for every system: throughput runs from the first handler start to the last handler
 * end (process start-up and connection set-up are left out); latency is enqueue→handler start with one
 * job every LATENCY_SPACING_MS while the worker (concurrency 1) is idle; the producer lives in the same
 * process as the worker's supervisor (tasq: the sentinel; peers: the worker process itself).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ResolvedConfig, Task } from '@tasq/core';
import { type BenchRow, percentile } from '../harness.js';

export const LATENCY_SPACING_MS = 5;
/** Environment variable carrying a child's spec (JSON); a suite module run with it is that child. */
const CHILD_VARIABLE = 'TASQ_BENCH_CLUSTER_CHILD';
/** Set in a peer's child: it must not load @tasq/core, whose memory would count against the peer. */
const PEER_VARIABLE = 'TASQ_BENCH_PEER_CHILD';

/** The tasks module the clusters import (this file). */
export const TASKS_MODULE = fileURLToPath(import.meta.url);

/** A microsecond epoch clock comparable across processes on one machine. */
export const epochNow = () => performance.timeOrigin + performance.now();

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// A peer's child defines none: it must not load @tasq/core.
const core = process.env[PEER_VARIABLE] ? undefined : await import('@tasq/core');
export const e2eNoop = core?.defineTask('bench.e2e-noop', () => null) as Task<[], null>;
export const e2eStartedAt = core?.defineTask(
  'bench.e2e-started-at',
  (sentAt: number) => epochNow() - sentAt,
) as Task<[number], number>;

// ---------------------------------------------------------------- memory

/** RSS of another process from /proc (Linux), 0 when it is gone. */
export function rssOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096;
  } catch {
    return 0;
  }
}

/** Peak RSS of a process, sampled every 20 ms. */
export function rssSampler(read: () => number): { peak(): number; stop(): void } {
  let peak = read();
  const timer = setInterval(() => {
    peak = Math.max(peak, read());
  }, 20);
  return {
    peak: () => Math.max(peak, read()),
    stop: () => clearInterval(timer),
  };
}

/** CPU time (user + system, µs) another process has used, from /proc (Linux; 10 ms ticks), 0 when gone. */
export function cpuOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // Fields 14 and 15 of stat (utime, stime) are the 12th and 13th after the command name.
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND) * 1e6;
  } catch {
    return 0;
  }
}

/**
 * CPU time (µs) of this process's children that have exited and been waited for (cutime + cstime of
 * /proc/self/stat): a sentinel's recycled or replaced workers, whose own counters are gone.
 */
export function exitedChildrenCpu(): number {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    // Fields 16 and 17 of stat (cutime, cstime) are the 14th and 15th after the command name.
    return ((Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_SECOND) * 1e6;
  } catch {
    return 0;
  }
}

/** Memory only this process holds (Private_Clean + Private_Dirty of smaps_rollup, Linux), 0 when gone. */
export function privateBytesOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    let kib = 0;
    for (const match of text.matchAll(/^Private_(?:Clean|Dirty):\s+(\d+) kB/gm)) kib += Number(match[1]);
    return kib * 1024;
  } catch {
    return 0;
  }
}

/** CPU time (µs) used so far by every process whose command name is `comm` (Linux), 0 when none runs. */
export function serverCpuOf(comm: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) total += cpuOf(Number(entry));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return total;
}

/**
 * Run a throughput child and add the broker server's CPU per job to its report (the server process
 * `comm`, e.g. redis-server or beam.smp), from before the child starts to after it exits: the work each
 * system makes the shared server do, which competes for the same cores as the workers.
 */
export async function withServerCpu(
  comm: string,
  jobs: number,
  run: () => Promise<ChildReport>,
): Promise<ChildReport> {
  const before = serverCpuOf(comm);
  const report = await run();
  const used = serverCpuOf(comm) - before;
  if (before > 0) report.counters = { ...report.counters, [CPU_COUNTERS.server]: used / jobs };
  return report;
}

/** USER_HZ: 100 on every Linux build Node supports. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Counter names for CPU time per job, drained from the first start to the last end. */
export const CPU_COUNTERS = {
  worker: 'worker CPU per job',
  sentinel: 'sentinel CPU per job',
  server: 'server CPU per job',
} as const;

/** Units and notes for the counters every suite reports. */
export const CPU_COUNTER_UNITS: Record<string, { unit: string; notes: string }> = {
  [CPU_COUNTERS.worker]: {
    unit: 'µs',
    notes:
      'user + system CPU of the worker processes from the first start to the last end, ÷ jobs (/proc, 10 ms ticks; tasq: recycled workers and their successors included, start-up and all)',
  },
  'worker private memory at end': {
    unit: 'MiB',
    notes:
      "tasq: the worker's Private_Clean + Private_Dirty (smaps_rollup) after the last job: what it does not share",
  },
  [CPU_COUNTERS.sentinel]: {
    unit: 'µs',
    notes: "user + system CPU of tasq's sentinel over the same span, ÷ jobs",
  },
  [CPU_COUNTERS.server]: {
    unit: 'µs',
    notes:
      'user + system CPU of the broker server process (redis-server, beam.smp) from before the worker starts to after it stops, ÷ jobs',
  },
};

// ---------------------------------------------------------------- child processes

/** What every child reports back to the suite. */
export interface ChildReport {
  seconds?: number;
  latenciesMs?: number[];
  workerPeakRss: number;
  workerReadyRss: number;
  /** tasq only: the sentinel (broker connection, fetcher, monitor), a process the peers do not have. */
  sentinelPeakRss?: number;
  /** Suite-specific counters (Redis commands per job...). */
  counters?: Record<string, number>;
}

/** The spec this process was started with as a child, or undefined in the suite's own process. */
export function childSpec<Spec>(): Spec | undefined {
  const text = process.env[CHILD_VARIABLE];
  if (text === undefined) return undefined;
  // tasq workers inherit this environment; they must load the tasks module only.
  delete process.env[CHILD_VARIABLE];
  return JSON.parse(text) as Spec;
}

/** Send the report to the suite and exit. */
export function reportToParent(report: ChildReport): void {
  process.send?.({ type: 'report', report }, () => process.exit(0));
}

/** What a child may add to the report: progress while it runs, and how long it may take. */
export interface RunChildOptions {
  /** Killed after this long without a report (default 10 min). */
  timeoutMs?: number;
  /** Node flags for this child, after the usual ones and TASQ_BENCH_CHILD_FLAGS. */
  execArgv?: string[];
  /** Every message the child sends other than its report (progress lines...). */
  onMessage?: (message: { type: string; [key: string]: unknown }) => void;
}

/**
 * Run `file` as a child with `spec`; resolves with its report (10 min at most unless `timeoutMs` says
 * otherwise). A `peer` child loads no tasq module, so the suite module must import @tasq/core only
 * inside tasq's code paths.
 */
export function runChild(
  file: string,
  spec: object,
  label: string,
  peer: boolean,
  options: RunChildOptions = {},
): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = fork(file, [], {
      env: {
        ...process.env,
        [CHILD_VARIABLE]: JSON.stringify(spec),
        ...(peer ? { [PEER_VARIABLE]: '1' } : {}),
      },
      execArgv: [
        '--disable-warning=ExperimentalWarning',
        ...(process.env.TASQ_BENCH_CHILD_FLAGS?.split(' ') ?? []),
        ...(options.execArgv ?? []),
      ],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let report: ChildReport | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 10 * 60_000);
    child.on('message', (message: { type: string; report?: ChildReport }) => {
      if (message.type === 'report') report = message.report;
      else options.onMessage?.(message);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (report) resolve(report);
      else reject(new Error(`${label} child exited with code ${code} without a report`));
    });
  });
}

// ---------------------------------------------------------------- the tasq side

/** What `fromFirstStart` watches: a started cluster's events and workers. */
interface WatchedCluster {
  events: { on(name: 'task-started', listener: () => void): unknown };
  workers(): Array<{ pid?: number }>;
}

/**
 * Time and CPU from a cluster's first `task-started` (process start-up and connecting left out): the
 * sentinel's (this process) and every worker's, alive now or exited (a recycled worker's successor's
 * start-up counts).
 */
export function fromFirstStart(cluster: WatchedCluster): {
  now(): { seconds: number; sentinelCpuUs: number; workerCpuUs: number };
} {
  let firstStart: number | undefined;
  let sentinelCpuAtStart = process.cpuUsage();
  let workerCpuAtStart = 0;
  const workersCpu = () =>
    cluster.workers().reduce((sum, info) => sum + cpuOf(info.pid), 0) + exitedChildrenCpu();
  cluster.events.on('task-started', () => {
    if (firstStart !== undefined) return;
    firstStart = performance.now();
    sentinelCpuAtStart = process.cpuUsage();
    workerCpuAtStart = workersCpu();
  });
  return {
    now() {
      const sentinel = process.cpuUsage(sentinelCpuAtStart);
      return {
        seconds: (performance.now() - (firstStart ?? performance.now())) / 1000,
        sentinelCpuUs: sentinel.user + sentinel.system,
        workerCpuUs: workersCpu() - workerCpuAtStart,
      };
    },
  };
}

/**
 * Start a cluster (sentinel here, one worker process) on `config` and measure it: in `throughput` mode
 * `jobs` pre-enqueued `e2eNoop` jobs are drained; in `latency` mode this process enqueues `e2eStartedAt`
 * jobs one every LATENCY_SPACING_MS and reads each result (the handler's enqueue→start time) back.
 * The clock starts at the sentinel's first `task-started` (the run handed to the worker, one IPC hop
 * before its handler starts) and stops at `task-succeeded` (after the result is saved, before the ack):
 * both slightly against tasq, by well under a millisecond per run.
 */
export async function runTasqCluster(
  config: ResolvedConfig,
  mode: 'throughput' | 'latency',
  jobs: number,
): Promise<ChildReport> {
  const { startCluster } = await import('@tasq/cluster');
  const { Tasq } = await import('@tasq/core');
  const sentinel = rssSampler(() => process.memoryUsage.rss());
  const flags = workerFlags();
  // Without flags of our own the runtime's defaults apply (a small young generation), as for users.
  const cluster = await startCluster(config, flags ? { workerExecArgv: flags } : {});
  const workerPid = cluster.workers()[0]?.pid;
  const workerReadyRss = rssOf(workerPid);
  const worker = rssSampler(() => rssOf(cluster.workers()[0]?.pid ?? workerPid));
  let report: ChildReport;
  if (mode === 'throughput') {
    const since = fromFirstStart(cluster);
    await new Promise<void>((resolve) => {
      const check = () => cluster.stats.succeeded >= jobs && resolve();
      cluster.events.on('task-succeeded', check);
      check();
    });
    const { seconds, sentinelCpuUs, workerCpuUs } = since.now();
    report = {
      seconds,
      workerPeakRss: worker.peak(),
      workerReadyRss,
      sentinelPeakRss: sentinel.peak(),
      counters: {
        [CPU_COUNTERS.worker]: workerCpuUs / jobs,
        [CPU_COUNTERS.sentinel]: sentinelCpuUs / jobs,
        'worker private memory at end': privateBytesOf(cluster.workers()[0]?.pid) / MIB,
      },
    };
  } else {
    const producer = await Tasq.open(config);
    const handles = [];
    for (let i = 0; i < jobs; i++) {
      handles.push(await producer.enqueue(e2eStartedAt, epochNow()));
      await sleep(LATENCY_SPACING_MS);
    }
    const latenciesMs: number[] = [];
    for (const handle of handles) latenciesMs.push((await handle.result({ timeout: 60_000 })) as number);
    await producer.close();
    report = { latenciesMs, workerPeakRss: worker.peak(), workerReadyRss, sentinelPeakRss: sentinel.peak() };
  }
  worker.stop();
  sentinel.stop();
  await cluster.stop({ timeoutMs: 5_000 });
  return report;
}

/**
 * Node flags for tasq's worker process, replacing the runtime's defaults (TASQ_BENCH_WORKER_FLAGS=
 * "--cpu-prof --max-semi-space-size=2" for a profile); undefined when not set.
 */
function workerFlags(): string[] | undefined {
  return process.env.TASQ_BENCH_WORKER_FLAGS?.split(' ').filter(Boolean);
}

// ---------------------------------------------------------------- the peer side

/**
 * Timing and memory of a peer's worker in this process: call `ready()` once it is connected, `handled()`
 * from its handler (with the sent-at stamp in latency mode), and await `done` for the report.
 */
export class PeerRun {
  private firstStart: number | undefined;
  private cpuAtStart: NodeJS.CpuUsage | undefined;
  private cpuAtEnd: NodeJS.CpuUsage | undefined;
  private lastEnd = 0;
  private count = 0;
  private readyRss = 0;
  private sampler: { peak(): number; stop(): void } | undefined;
  private readonly latenciesMs: number[] = [];
  private finish: () => void = () => {};
  readonly done: Promise<void>;

  constructor(private readonly jobs: number) {
    this.done = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
  }

  ready(): void {
    this.readyRss = process.memoryUsage.rss();
    this.sampler = rssSampler(() => process.memoryUsage.rss());
  }

  /** One job ran (a no-op): counted at its start and end, which are the same instant here. */
  handled(sentAt?: number): void {
    const now = performance.now();
    if (this.firstStart === undefined) {
      this.firstStart = now;
      this.cpuAtStart = process.cpuUsage();
    }
    if (sentAt !== undefined) this.latenciesMs.push(epochNow() - sentAt);
    this.lastEnd = now;
    if (++this.count === this.jobs) {
      this.cpuAtEnd = process.cpuUsage(this.cpuAtStart);
      this.finish();
    }
  }

  report(): ChildReport {
    const report: ChildReport = {
      seconds: (this.lastEnd - (this.firstStart ?? this.lastEnd)) / 1000,
      latenciesMs: this.latenciesMs,
      workerPeakRss: this.sampler?.peak() ?? process.memoryUsage.rss(),
      workerReadyRss: this.readyRss,
      ...(this.cpuAtEnd
        ? { counters: { [CPU_COUNTERS.worker]: (this.cpuAtEnd.user + this.cpuAtEnd.system) / this.jobs } }
        : {}),
    };
    this.sampler?.stop();
    return report;
  }
}

// ---------------------------------------------------------------- rows

export const MIB = 2 ** 20;

/** Every round's figures of one system at one concurrency, turned into rows at the end. */
export class Results {
  private readonly throughput = new Map<
    string,
    {
      label: string;
      concurrency: number;
      rates: number[];
      peak: number[];
      ready: number[];
      sentinel: number[];
      counters: Map<string, number[]>;
    }
  >();
  private readonly latency = new Map<string, { label: string; p50: number[]; p99: number[] }>();

  constructor(
    private readonly suite: string,
    private readonly jobs: number,
    private readonly latencyJobs: number,
  ) {}

  /** Record one throughput round; returns the progress line. */
  addThroughput(label: string, concurrency: number, report: ChildReport): string {
    const key = `${label}@${concurrency}`;
    const entry = this.throughput.get(key) ?? {
      label,
      concurrency,
      rates: [],
      peak: [],
      ready: [],
      sentinel: [],
      counters: new Map<string, number[]>(),
    };
    const rate = this.jobs / report.seconds!;
    entry.rates.push(rate);
    entry.peak.push(report.workerPeakRss / MIB);
    entry.ready.push(report.workerReadyRss / MIB);
    if (report.sentinelPeakRss !== undefined) entry.sentinel.push(report.sentinelPeakRss / MIB);
    for (const [name, value] of Object.entries(report.counters ?? {}))
      entry.counters.set(name, [...(entry.counters.get(name) ?? []), value]);
    this.throughput.set(key, entry);
    return `${label} c=${concurrency}: ${Math.round(rate)} jobs/s, worker peak ${Math.round(report.workerPeakRss / MIB)} MiB`;
  }

  /** Record one latency round; returns the progress line. */
  addLatency(label: string, report: ChildReport): string {
    const entry = this.latency.get(label) ?? { label, p50: [], p99: [] };
    entry.p50.push(percentile(report.latenciesMs!, 50));
    entry.p99.push(percentile(report.latenciesMs!, 99));
    this.latency.set(label, entry);
    return `${label} latency p50 ${entry.p50.at(-1)!.toFixed(2)} ms, p99 ${entry.p99.at(-1)!.toFixed(1)} ms`;
  }

  /** Throughput rows first (in the order first recorded), then memory, counters, latency. */
  rows(counterUnits: Record<string, { unit: string; notes: string }> = {}): BenchRow[] {
    const rows: BenchRow[] = [];
    const suite = this.suite;
    for (const entry of this.throughput.values()) {
      rows.push({
        suite,
        system: entry.label,
        metric: `end to end c=${entry.concurrency}`,
        unit: 'jobs/s',
        values: entry.rates,
        notes: `${this.jobs} pre-enqueued no-op jobs, one worker process, concurrency ${entry.concurrency}`,
      });
    }
    for (const entry of this.throughput.values()) {
      const c = entry.concurrency;
      rows.push(
        { suite, system: entry.label, metric: `worker peak RSS c=${c}`, unit: 'MiB', values: entry.peak },
        {
          suite,
          system: entry.label,
          metric: `worker RSS at ready c=${c}`,
          unit: 'MiB',
          values: entry.ready,
        },
      );
      if (entry.sentinel.length > 0)
        rows.push({
          suite,
          system: entry.label,
          metric: `sentinel peak RSS c=${c}`,
          unit: 'MiB',
          values: entry.sentinel,
          notes: 'the cluster supervisor process (broker connection, fetcher, monitor); peers have none',
        });
    }
    for (const entry of this.throughput.values()) {
      for (const [name, values] of entry.counters) {
        const described = counterUnits[name];
        rows.push({
          suite,
          system: entry.label,
          metric: `${name} c=${entry.concurrency}`,
          unit: described?.unit ?? '',
          values,
          ...(described ? { notes: described.notes } : {}),
        });
      }
    }
    for (const entry of this.latency.values()) {
      const notes = `${this.latencyJobs} jobs, one every ${LATENCY_SPACING_MS} ms, idle worker c=1`;
      rows.push(
        { suite, system: entry.label, metric: 'enqueue→start p50', unit: 'ms', values: entry.p50, notes },
        { suite, system: entry.label, metric: 'enqueue→start p99', unit: 'ms', values: entry.p99, notes },
      );
    }
    return rows;
  }
}

/**
 * The runs to make: all, or those named in TASQ_BENCH_SYSTEMS (comma-separated): a system name ("tasq")
 * selects all its runs; "tasq@50" only its throughput run at concurrency 50, "tasq@latency" only its
 * latency run. A filtered run says so in a progress line.
 */
export function chosenSystems(context: {
  log(line: string): void;
}): (system: string, run?: number | 'latency') => boolean {
  const names = process.env.TASQ_BENCH_SYSTEMS?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (!names || names.length === 0) return () => true;
  context.log(`TASQ_BENCH_SYSTEMS: only ${names.join(', ')}`);
  return (system, run = 'latency') => names.includes(system) || names.includes(`${system}@${run}`);
}

/** Jobs per throughput run and per latency run: n/4 (at least 500) and n/20 (at least 100). */
export function workloadSizes(n: number): { jobs: number; latencyJobs: number } {
  return { jobs: Math.max(500, Math.round(n / 4)), latencyJobs: Math.max(100, Math.round(n / 20)) };
}
