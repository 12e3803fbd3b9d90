import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ClusterEmitter, emptyStats } from '../runtime/events.js';
import { ClusterMetrics } from './metrics.js';
import type { ClusterSnapshot } from './snapshot.js';

const snapshot = (): ClusterSnapshot => ({
  cluster: 'default@host:1',
  name: 'default',
  host: 'host',
  pid: 1,
  at: 0,
  startedAt: 0,
  queues: ['default'],
  poolSize: 2,
  concurrency: 1,
  workers: [{ id: 1, pid: 11, rssBytes: 1000, tasksDone: 3, busy: 1, state: 'busy' }],
  prefetched: 0,
  running: 1,
  stats: emptyStats(),
  eventsDropped: 4,
  stopping: false,
  keyIds: ['k1'],
});

const ref = { id: 'j1', name: 'reports.build', queue: 'long', deliveries: 1 };

describe('cluster metrics', () => {
  it('keeps histograms of wait and run time, process metrics and the cluster label on every series', async () => {
    const events = new ClusterEmitter();
    const metrics = new ClusterMetrics(
      events,
      { snapshot, queueSizes: async () => [{ queue: 'long', ready: 7 }] },
      { cluster: 'default@host:1' },
    );
    events.emit('task-started', { ...ref, workerId: 1, waitMs: 2_500 });
    events.emit('task-succeeded', { ...ref, runtimeMs: 40 });
    const text = await metrics.render();
    const c = 'cluster="default@host:1"';
    expect(text).toContain(`tasq_task_wait_seconds_bucket{le="1",task="reports.build",queue="long",${c}} 0`);
    expect(text).toContain(`tasq_task_wait_seconds_bucket{le="5",task="reports.build",queue="long",${c}} 1`);
    expect(text).toContain(
      `tasq_task_duration_seconds_sum{task="reports.build",status="succeeded",${c}} 0.04`,
    );
    expect(text).toContain(`tasq_queue_size{${c},queue="long",state="ready"} 7`);
    expect(text).toContain(`tasq_events_dropped_total{${c}} 4`);
    expect(text).toMatch(new RegExp(`^process_cpu_user_seconds_total\\{${c}\\} `, 'm'));
    metrics.stop();
  });

  it('is a registry of its own that an application merges into its own', async () => {
    const metrics = new ClusterMetrics(
      new ClusterEmitter(),
      { snapshot, queueSizes: async () => [] },
      { cluster: 'default@host:1', defaultMetrics: false },
    );
    const application = new Registry();
    new Counter({ name: 'app_requests_total', help: 'Requests.', registers: [application] }).inc();
    const merged = await Registry.merge([application, metrics.registry]).metrics();
    expect(merged).toContain('app_requests_total 1');
    expect(merged).toContain('tasq_pool_size{cluster="default@host:1"} 2');
    expect(merged).not.toContain('process_cpu_user_seconds_total');
    metrics.stop();
  });
});
