/**
 * Prometheus metrics for one cluster (`tasq cluster --metrics :9464`), through prom-client: its own
 * registry (never prom-client's global one, so an application that embeds a cluster keeps its own
 * metrics apart and can merge this registry into its own with `Registry.merge`). Counters and histograms
 * are fed by `cluster.events`; gauges (workers, queue sizes) are read at scrape time. Every series carries
 * `cluster="<identity>"` as a label of its own, so it survives a merge.
 */
import { createServer, type Server } from 'node:http';
import type { QueueSize } from '@tasq/core/backend';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ClusterEmitter } from '../runtime/events.js';
import { DURATION_BUCKETS, WAIT_BUCKETS } from './metric-buckets.js';
import type { ClusterSnapshot } from './snapshot.js';

export { DURATION_BUCKETS, WAIT_BUCKETS };

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
  'task-cancelled': 'cancelled',
  'task-expired': 'expired',
} as const;

export interface MetricsSources {
  snapshot(): ClusterSnapshot;
  /** Sizes of the consumed queues (the broker is asked at most once a second). */
  queueSizes(): Promise<Array<{ queue: string } & Partial<QueueSize>>>;
}

export interface ClusterMetricsOptions {
  /** The `cluster` label of every series: the cluster's identity. */
  cluster: string;
  /** Also collect prom-client's default process metrics (CPU, memory, event loop lag, GC). Default true. */
  defaultMetrics?: boolean;
}

export class ClusterMetrics {
  /** The cluster's registry: `await registry.metrics()` is the exposition text. */
  readonly registry = new Registry();
  private readonly off: () => void;

  constructor(events: ClusterEmitter, sources: MetricsSources, options: ClusterMetricsOptions) {
    const { registry } = this;
    const cluster = options.cluster;
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, labels: { cluster } });
    const tasks = new Counter({
      name: 'tasq_tasks_total',
      help: 'Task lifecycle events by task name, queue and status.',
      labelNames: ['task', 'queue', 'status', 'cluster'] as const,
      registers: [registry],
    });
    const duration = new Histogram({
      name: 'tasq_task_duration_seconds',
      help: 'Task run time by task name and status.',
      labelNames: ['task', 'status', 'cluster'] as const,
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
    const wait = new Histogram({
      name: 'tasq_task_wait_seconds',
      help: 'Time from when a job was due (enqueued, or its eta) until a worker started it.',
      labelNames: ['task', 'queue', 'cluster'] as const,
      buckets: WAIT_BUCKETS,
      registers: [registry],
    });
    const rejected = new Counter({
      name: 'tasq_packages_rejected_total',
      help: 'Packages never run: bad signature or undecodable.',
      labelNames: ['cluster'] as const,
      registers: [registry],
    });
    rejected.inc({ cluster }, 0);
    this.off = events.onAny((name, payload) => {
      const status = COUNTED[name as keyof typeof COUNTED];
      if (status) {
        const { name: task, queue } = payload as { name: string; queue: string };
        tasks.inc({ task, queue, status, cluster });
        if (name === 'task-succeeded' || name === 'task-failed') {
          const { runtimeMs } = payload as { runtimeMs: number };
          duration.observe({ task, status, cluster }, runtimeMs / 1000);
        } else if (name === 'task-started') {
          const { waitMs } = payload as { waitMs?: number };
          if (waitMs !== undefined) wait.observe({ task, queue, cluster }, waitMs / 1000);
        }
      } else if (name === 'package-rejected') {
        rejected.inc({ cluster });
      }
    });

    const gauge = (
      name: string,
      help: string,
      labelNames: string[],
      read: (set: (labels: Record<string, string>, value: number) => void) => void | Promise<void>,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ['cluster', ...labelNames],
        registers: [registry],
        async collect() {
          this.reset();
          await read((labels, value) => this.set({ cluster, ...labels }, value));
        },
      });
    let droppedSoFar = 0;
    new Counter({
      name: 'tasq_events_dropped_total',
      help: 'Monitoring events dropped because pub/sub was slow.',
      labelNames: ['cluster'] as const,
      registers: [registry],
      collect() {
        const dropped = sources.snapshot().eventsDropped;
        this.inc({ cluster }, Math.max(0, dropped - droppedSoFar));
        droppedSoFar = Math.max(droppedSoFar, dropped);
      },
    });
    gauge('tasq_pool_size', 'Workers the pool keeps.', [], (set) => set({}, sources.snapshot().poolSize));
    gauge('tasq_workers', 'Worker processes by state.', ['state'], (set) => {
      const workers = sources.snapshot().workers;
      for (const state of ['busy', 'idle', 'retiring'] as const)
        set({ state }, workers.filter((w) => w.state === state).length);
    });
    gauge('tasq_tasks_running', 'Tasks running now.', [], (set) => set({}, sources.snapshot().running));
    gauge('tasq_tasks_prefetched', 'Packages fetched and waiting for a worker.', [], (set) =>
      set({}, sources.snapshot().prefetched),
    );
    gauge('tasq_worker_rss_bytes', 'Resident memory of each worker.', ['worker', 'pid'], (set) => {
      for (const w of sources.snapshot().workers)
        set({ worker: String(w.id), pid: String(w.pid) }, w.rssBytes);
    });
    gauge(
      'tasq_worker_tasks_done',
      'Tasks each worker has finished since it started.',
      ['worker', 'pid'],
      (set) => {
        for (const w of sources.snapshot().workers)
          set({ worker: String(w.id), pid: String(w.pid) }, w.tasksDone);
      },
    );
    gauge(
      'tasq_queue_size',
      'Packages in each consumed queue by state (as the broker counts them).',
      ['queue', 'state'],
      async (set) => {
        const sizes = await sources.queueSizes().catch(() => []);
        for (const size of sizes) {
          for (const state of ['ready', 'delayed', 'reserved', 'dead'] as const) {
            const value = size[state];
            if (typeof value === 'number') set({ queue: size.queue, state }, value);
          }
        }
      },
    );
  }

  stop(): void {
    this.off();
  }

  /** The exposition text. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
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
        response.writeHead(200, { 'content-type': Registry.PROMETHEUS_CONTENT_TYPE });
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
