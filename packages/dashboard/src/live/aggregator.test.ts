import type { TasqEvent } from '@tasq/core';
import { describe, expect, it } from 'vitest';
import { LiveAggregator } from './aggregator.js';

const task = (
  type: 'task-succeeded' | 'task-failed' | 'task-started',
  extra: Partial<TasqEvent> = {},
): TasqEvent =>
  ({ type, at: 0, cluster: 'c@h:1', jobId: 'j', name: 't', queue: 'q', attempt: 1, ...extra }) as TasqEvent;
const heartbeat = (succeeded: number, failed: number): TasqEvent => ({
  type: 'cluster-heartbeat',
  at: 0,
  cluster: 'c@h:1',
  host: 'h',
  pid: 1,
  queues: ['q'],
  workers: 1,
  succeeded,
  failed,
});

describe('LiveAggregator', () => {
  it('counts a second of task events into one point with percentiles', () => {
    const live = new LiveAggregator();
    for (let i = 1; i <= 100; i++) live.ingest(task('task-succeeded', { runtimeMs: i }));
    live.ingest(task('task-failed', { runtimeMs: 1 }));
    live.ingest(task('task-started', { waitMs: 40 }));
    live.setDepth({ q: 7 });
    const point = live.tick(5_000);
    expect(point).toMatchObject({ t: 5, succeeded: 100, failed: 1, depth: { q: 7 }, wait: [40, 40, 40] });
    expect(point.run).toEqual([50, 95, 99]);
    expect(live.tick(6_000)).toMatchObject({ succeeded: 0, failed: 0, wait: [null, null, null] });
  });

  it('adds what heartbeats count beyond the events it received (events dropped under load)', () => {
    const live = new LiveAggregator();
    live.ingest(heartbeat(1_000, 10));
    expect(live.tick(1_000).succeeded).toBe(0); // the first heartbeat is a baseline, not throughput
    for (let i = 0; i < 300; i++) live.ingest(task('task-succeeded'));
    live.ingest(heartbeat(1_500, 12));
    const point = live.tick(2_000);
    expect(point.succeeded).toBe(500);
    expect(point.failed).toBe(2);
    // Nothing is counted twice: the next heartbeat with the same totals adds nothing.
    live.ingest(heartbeat(1_500, 12));
    expect(live.tick(3_000).succeeded).toBe(0);
  });

  it('keeps the last points only', () => {
    const live = new LiveAggregator(3);
    for (let t = 1; t <= 5; t++) live.tick(t * 1000);
    expect(live.recent().map((p) => p.t)).toEqual([3, 4, 5]);
  });
});
