/**
 * Turns the deployment's monitoring events into one point a second: jobs succeeded and failed, wait and
 * run time percentiles, queue depth. The page receives these points, never the events themselves, so a
 * deployment at 20,000 jobs/s costs the browser one small message a second.
 *
 * Clusters drop task events they cannot publish fast enough; their heartbeats carry exact totals, and
 * what the totals show beyond the events counted since the previous heartbeat is added to the current
 * second, so throughput stays right (only a little late) under load. Without pub/sub the same totals
 * come from the snapshots clusters store, and are the only source.
 */
import type { TasqEvent } from '@tasq/core';
import { Reservoir } from './percentiles.js';

export interface LivePoint {
  /** Epoch seconds. */
  t: number;
  succeeded: number;
  failed: number;
  /** [p50, p95, p99] in ms, null without samples in that second. */
  wait: (number | null)[];
  run: (number | null)[];
  /** Ready + delayed jobs by queue, as last measured. */
  depth: Record<string, number>;
}

interface Totals {
  succeeded: number;
  failed: number;
  /** Counted from task events since these totals. */
  countedSucceeded: number;
  countedFailed: number;
}

const PERCENTILES = [50, 95, 99] as const;

export class LiveAggregator {
  private readonly history: LivePoint[] = [];
  private succeeded = 0;
  private failed = 0;
  private wait = new Reservoir();
  private run = new Reservoir();
  private readonly totals = new Map<string, Totals>();
  private depth: Record<string, number> = {};

  constructor(private readonly keep = 300) {}

  ingest(event: TasqEvent): void {
    switch (event.type) {
      case 'task-started':
        if (event.waitMs !== undefined) this.wait.add(event.waitMs);
        return;
      case 'task-succeeded':
      case 'task-failed': {
        if (event.type === 'task-succeeded') this.succeeded++;
        else this.failed++;
        if (event.runtimeMs !== undefined) this.run.add(event.runtimeMs);
        const totals = this.totals.get(event.cluster);
        if (totals) {
          if (event.type === 'task-succeeded') totals.countedSucceeded++;
          else totals.countedFailed++;
        }
        return;
      }
      case 'cluster-heartbeat':
      case 'cluster-online':
        if (event.succeeded !== undefined && event.failed !== undefined)
          this.noteTotals(event.cluster, event.succeeded, event.failed);
        return;
      case 'cluster-offline':
        this.totals.delete(event.cluster);
        return;
      default:
        return;
    }
  }

  /** A cluster's totals since it started (heartbeat or stored snapshot). */
  noteTotals(cluster: string, succeeded: number, failed: number): void {
    const previous = this.totals.get(cluster);
    if (previous && succeeded >= previous.succeeded && failed >= previous.failed) {
      this.succeeded += Math.max(0, succeeded - previous.succeeded - previous.countedSucceeded);
      this.failed += Math.max(0, failed - previous.failed - previous.countedFailed);
    }
    this.totals.set(cluster, { succeeded, failed, countedSucceeded: 0, countedFailed: 0 });
  }

  setDepth(depth: Record<string, number>): void {
    this.depth = depth;
  }

  /** Close the second that ends at `nowMs` and return its point. */
  tick(nowMs: number): LivePoint {
    const point: LivePoint = {
      t: Math.floor(nowMs / 1000),
      succeeded: this.succeeded,
      failed: this.failed,
      wait: this.wait.percentiles(PERCENTILES),
      run: this.run.percentiles(PERCENTILES),
      depth: { ...this.depth },
    };
    this.succeeded = 0;
    this.failed = 0;
    this.wait = new Reservoir();
    this.run = new Reservoir();
    this.history.push(point);
    if (this.history.length > this.keep) this.history.shift();
    return point;
  }

  /** The last points, oldest first. */
  recent(): LivePoint[] {
    return [...this.history];
  }
}
