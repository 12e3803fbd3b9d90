/**
 * Prometheus metrics for one cluster (`tasq cluster --metrics :9464`), in the text exposition format
 * (version 0.0.4), written by hand: a handful of counters, one histogram family and some gauges do not
 * need a client library. Counters and histograms are fed by `cluster.events`; gauges (workers, queue
 * sizes) are read at scrape time.
 */
import { createServer, type Server } from 'node:http';
import type { QueueSize } from '@tasq/core';
import type { ClusterEmitter } from '../runtime/events.js';
import type { ClusterSnapshot } from './snapshot.js';

/** Task run time buckets, in seconds: from a 5 ms no-op to a five-minute report. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Task counter statuses, one per lifecycle event the cluster emits. */
const COUNTED = {
  'task-received': 'received',
  'task-started': 'started',
  'task-succeeded': 'succeeded',
  'task-failed': 'failed',
  'task-retried': 'retried',
  'task-released': 'released',
  'task-dead-lettered': 'dead_lettered',
  'task-timed-out': 'timed_out',
} as const;

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

export interface MetricsSources {
  snapshot(): ClusterSnapshot;
  /** Sizes of the consumed queues (the broker is asked at most once a second). */
  queueSizes(): Promise<Array<{ queue: string } & Partial<QueueSize>>>;
}

export class ClusterMetrics {
  private readonly counters = new Map<string, number>();
  private readonly durations = new Map<string, Histogram>();
  private rejected = 0;
  private readonly off: () => void;

  constructor(
    events: ClusterEmitter,
    private readonly sources: MetricsSources,
  ) {
    this.off = events.onAny((name, payload) => {
      const status = COUNTED[name as keyof typeof COUNTED];
      if (status) {
        const { name: task, queue } = payload as { name: string; queue: string };
        const key = labels({ task, queue, status });
        this.counters.set(key, (this.counters.get(key) ?? 0) + 1);
        if (name === 'task-succeeded' || name === 'task-failed') {
          const { runtimeMs } = payload as { runtimeMs: number };
          this.observe(labels({ task, status }), runtimeMs / 1000);
        }
      } else if (name === 'package-rejected') {
        this.rejected++;
      }
    });
  }

  stop(): void {
    this.off();
  }

  /** The exposition text. */
  async render(): Promise<string> {
    const snapshot = this.sources.snapshot();
    const cluster = { cluster: snapshot.cluster };
    const out: string[] = [];
    const family = (name: string, type: string, help: string) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };

    family('tasq_tasks_total', 'counter', 'Task lifecycle events by task name, queue and status.');
    for (const [key, value] of this.counters)
      out.push(`tasq_tasks_total{${key},${labels(cluster)}} ${value}`);

    family('tasq_task_duration_seconds', 'histogram', 'Task run time by task name and status.');
    for (const [key, histogram] of this.durations) {
      const base = `${key},${labels(cluster)}`;
      let cumulative = 0;
      DURATION_BUCKETS.forEach((bound, i) => {
        cumulative += histogram.buckets[i] ?? 0;
        out.push(`tasq_task_duration_seconds_bucket{${base},le="${bound}"} ${cumulative}`);
      });
      out.push(`tasq_task_duration_seconds_bucket{${base},le="+Inf"} ${histogram.count}`);
      out.push(`tasq_task_duration_seconds_sum{${base}} ${histogram.sum}`);
      out.push(`tasq_task_duration_seconds_count{${base}} ${histogram.count}`);
    }

    family('tasq_packages_rejected_total', 'counter', 'Packages never run: bad signature or undecodable.');
    out.push(`tasq_packages_rejected_total{${labels(cluster)}} ${this.rejected}`);
    family('tasq_events_dropped_total', 'counter', 'Monitoring events dropped because pub/sub was slow.');
    out.push(`tasq_events_dropped_total{${labels(cluster)}} ${snapshot.eventsDropped}`);

    family('tasq_pool_size', 'gauge', 'Workers the pool keeps.');
    out.push(`tasq_pool_size{${labels(cluster)}} ${snapshot.poolSize}`);
    family('tasq_workers', 'gauge', 'Worker processes by state.');
    for (const state of ['busy', 'idle', 'retiring'] as const) {
      const count = snapshot.workers.filter((w) => w.state === state).length;
      out.push(`tasq_workers{${labels({ ...cluster, state })}} ${count}`);
    }
    family('tasq_tasks_running', 'gauge', 'Tasks running now.');
    out.push(`tasq_tasks_running{${labels(cluster)}} ${snapshot.running}`);
    family('tasq_tasks_prefetched', 'gauge', 'Packages fetched and waiting for a worker.');
    out.push(`tasq_tasks_prefetched{${labels(cluster)}} ${snapshot.prefetched}`);
    family('tasq_worker_rss_bytes', 'gauge', 'Resident memory of each worker.');
    for (const w of snapshot.workers)
      out.push(
        `tasq_worker_rss_bytes{${labels({ ...cluster, worker: String(w.id), pid: String(w.pid) })}} ${w.rssBytes}`,
      );
    family('tasq_worker_tasks_done', 'gauge', 'Tasks each worker has finished since it started.');
    for (const w of snapshot.workers)
      out.push(
        `tasq_worker_tasks_done{${labels({ ...cluster, worker: String(w.id), pid: String(w.pid) })}} ${w.tasksDone}`,
      );

    const sizes = await this.sources.queueSizes().catch(() => []);
    family(
      'tasq_queue_size',
      'gauge',
      'Packages in each consumed queue by state (as the broker counts them).',
    );
    for (const size of sizes) {
      for (const state of ['ready', 'delayed', 'reserved', 'dead'] as const) {
        const value = size[state];
        if (typeof value === 'number')
          out.push(`tasq_queue_size{${labels({ ...cluster, queue: size.queue, state })}} ${value}`);
      }
    }
    return `${out.join('\n')}\n`;
  }

  private observe(key: string, seconds: number): void {
    let histogram = this.durations.get(key);
    if (!histogram) {
      histogram = { buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.durations.set(key, histogram);
    }
    const index = DURATION_BUCKETS.findIndex((bound) => seconds <= bound);
    if (index >= 0) histogram.buckets[index] = (histogram.buckets[index] ?? 0) + 1;
    histogram.sum += seconds;
    histogram.count++;
  }
}

/** `name="value",...` with the format's escaping (backslash, double quote, newline). */
function labels(values: Record<string, string>): string {
  return Object.entries(values)
    .map(
      ([name, value]) =>
        `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
    )
    .join(',');
}

export function startMetricsServer(
  address: { host: string; port: number },
  render: () => Promise<string>,
): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.url !== '/metrics' && request.url !== '/') {
      response.writeHead(404).end();
      return;
    }
    render().then(
      (body) => {
        response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        response.end(body);
      },
      (error) => {
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(`metrics failed: ${(error as Error).message}\n`);
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
