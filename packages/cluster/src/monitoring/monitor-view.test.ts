/** What `tasq monitor` puts on the screen for a given stream of events. */
import type { ClusterEvent, TasqEvent } from '@tasq/core';
import { describe, expect, it } from 'vitest';
import { MonitorView } from './monitor-view.js';

const t0 = 1_800_000_000_000;
const heartbeat = (at: number, succeeded: number, failed: number): ClusterEvent => ({
  type: 'cluster-heartbeat',
  at,
  cluster: 'default@web-1:10',
  host: 'web-1',
  pid: 10,
  queues: ['reports'],
  workers: 2,
  prefetched: 3,
  succeeded,
  failed,
});

describe('MonitorView', () => {
  it('shows rates from the heartbeat counters, workers, failures, and clusters that went away', () => {
    const view = new MonitorView('shop', 'redis pub/sub');
    view.ingest(heartbeat(t0, 1_000, 10), t0);
    view.ingest(heartbeat(t0 + 2_000, 1_300, 14), t0 + 2_000);
    const worker: TasqEvent = {
      type: 'worker-heartbeat',
      at: t0 + 2_000,
      cluster: 'default@web-1:10',
      pid: 11,
      rssBytes: 80 * 2 ** 20,
      tasksDone: 650,
      busy: 1,
    };
    view.ingest(worker, t0 + 2_000);
    view.ingest(
      {
        type: 'task-failed',
        at: t0 + 2_100,
        cluster: 'default@web-1:10',
        jobId: 'job-9',
        name: 'reports.build',
        queue: 'reports',
        attempt: 1,
        error: 'TypeError: no such report',
      },
      t0 + 2_100,
    );
    view.setQueueSizes([{ queue: 'reports', ready: 12, delayed: 1, reserved: 3, dead: 0 }]);

    const screen = view.render(t0 + 2_500, 200).join('\n');
    expect(screen).toContain('rates: 150.0 succeeded/s  2.0 failed/s');
    expect(screen).toMatch(/default@web-1:10\s+online\s+workers 2\s+prefetched 3\s+queues reports/);
    expect(screen).toMatch(/default@web-1:10\s+11\s+busy \(1\)\s+80 MB\s+650/);
    expect(screen).toMatch(/reports\s+ready 12\s+delayed 1\s+reserved 3\s+dead 0/);
    expect(screen).toContain('reports.build job-9: TypeError: no such report');

    expect(view.render(t0 + 13_000, 200).join('\n')).toMatch(/default@web-1:10\s+lost/);
    expect(view.render(t0 + 25_000, 200).join('\n')).toContain('CLUSTERS (0)');
  });

  it('cuts lines to the terminal width', () => {
    const view = new MonitorView('shop', 'redis pub/sub');
    view.ingest(heartbeat(t0, 0, 0), t0);
    for (const line of view.render(t0, 40)) expect(line.length).toBeLessThanOrEqual(40);
  });
});
