/**
 * What `tasq monitor` shows, kept apart from the terminal: feed it monitoring events (or, without pub/sub,
 * stored cluster snapshots) and queue sizes; `render` turns the state into screen lines.
 */
import type { TasqEvent } from '@tasq/core';
import type { QueueSize } from '@tasq/core/backend';
import type { ClusterSnapshot } from './snapshot.js';

/** A cluster or worker not heard from for this long is shown as lost, and dropped after twice that. */
const LOST_AFTER_MS = 10_000;
/** Rates are averaged over this window. */
const RATE_WINDOW_MS = 5_000;
const RECENT_FAILURES = 8;

interface ClusterRow {
  id: string;
  host: string;
  queues: string[];
  workers: number;
  prefetched: number;
  lastSeen: number;
  offline: boolean;
}

interface WorkerRow {
  cluster: string;
  pid: number;
  rssBytes: number;
  tasksDone: number;
  busy: number;
  lastSeen: number;
  offline?: string;
}

interface FailureRow {
  at: number;
  name: string;
  jobId: string;
  error: string;
}

export class MonitorView {
  private readonly clusters = new Map<string, ClusterRow>();
  private readonly workers = new Map<string, WorkerRow>();
  private readonly finishes: Array<{ at: number; ok: boolean }> = [];
  private readonly failures: FailureRow[] = [];
  private queueSizes: Array<{ queue: string } & QueueSize> = [];
  /**
   * Per cluster: the task counters of its last two reports (heartbeats, or stored snapshots without
   * pub/sub) and the rates between them. Exact even when a busy cluster drops task events.
   */
  private readonly totals = new Map<
    string,
    { at: number; succeeded: number; failed: number; rates: { succeeded: number; failed: number } }
  >();
  private mode: 'events' | 'snapshots' = 'events';
  eventsSeen = 0;

  constructor(
    private readonly deployment: string,
    private readonly source: string,
  ) {}

  /** Queues shown: the configured ones plus every queue a cluster reports consuming. */
  queues(configured: readonly string[]): string[] {
    const names = new Set(configured);
    for (const cluster of this.clusters.values()) for (const queue of cluster.queues) names.add(queue);
    return [...names];
  }

  setQueueSizes(sizes: Array<{ queue: string } & QueueSize>): void {
    this.queueSizes = sizes;
  }

  ingest(event: TasqEvent, now: number): void {
    this.eventsSeen++;
    switch (event.type) {
      case 'cluster-online':
      case 'cluster-heartbeat':
      case 'cluster-offline':
        if (event.succeeded !== undefined && event.failed !== undefined)
          this.noteTotals(event.cluster, event.at, event.succeeded, event.failed);
        this.clusters.set(event.cluster, {
          id: event.cluster,
          host: event.host,
          queues: event.queues,
          workers: event.workers,
          prefetched: event.prefetched ?? 0,
          lastSeen: now,
          offline: event.type === 'cluster-offline',
        });
        if (event.type === 'cluster-offline') {
          for (const [key, worker] of this.workers)
            if (worker.cluster === event.cluster) this.workers.delete(key);
        }
        return;
      case 'worker-online':
      case 'worker-heartbeat':
      case 'worker-offline': {
        const key = `${event.cluster}/${event.pid}`;
        this.workers.set(key, {
          cluster: event.cluster,
          pid: event.pid,
          rssBytes: event.rssBytes || (this.workers.get(key)?.rssBytes ?? 0),
          tasksDone: event.tasksDone,
          busy: event.busy,
          lastSeen: now,
          ...(event.type === 'worker-offline' ? { offline: event.reason ?? 'offline' } : {}),
        });
        this.touch(event.cluster, now);
        return;
      }
      case 'task-succeeded':
      case 'task-failed':
        this.finishes.push({ at: now, ok: event.type === 'task-succeeded' });
        if (event.type === 'task-failed') {
          this.failures.unshift({
            at: event.at,
            name: event.name,
            jobId: event.jobId,
            error: event.error ?? '',
          });
          this.failures.length = Math.min(this.failures.length, RECENT_FAILURES);
        }
        this.touch(event.cluster, now);
        return;
      case 'task-rejected':
        this.failures.unshift({
          at: event.at,
          name: '(rejected)',
          jobId: event.jobId,
          error: event.error ?? '',
        });
        this.failures.length = Math.min(this.failures.length, RECENT_FAILURES);
        return;
      default:
        this.touch(event.cluster, now);
    }
  }

  /** Without pub/sub: the stored snapshots replace what events would have said. */
  ingestSnapshots(snapshots: ClusterSnapshot[], failures: FailureRow[]): void {
    this.mode = 'snapshots';
    this.clusters.clear();
    this.workers.clear();
    for (const snapshot of snapshots) {
      this.clusters.set(snapshot.cluster, {
        id: snapshot.cluster,
        host: snapshot.host,
        queues: snapshot.queues,
        workers: snapshot.workers.filter((w) => w.state !== 'retiring').length,
        prefetched: snapshot.prefetched,
        lastSeen: snapshot.at,
        offline: snapshot.stopping,
      });
      for (const worker of snapshot.workers) {
        this.workers.set(`${snapshot.cluster}/${worker.pid}`, {
          cluster: snapshot.cluster,
          pid: worker.pid,
          rssBytes: worker.rssBytes,
          tasksDone: worker.tasksDone,
          busy: worker.busy,
          lastSeen: snapshot.at,
        });
      }
      this.noteTotals(snapshot.cluster, snapshot.at, snapshot.stats.succeeded, snapshot.stats.failed);
    }
    this.failures.splice(0, this.failures.length, ...failures.slice(0, RECENT_FAILURES));
  }

  /** The screen, one string per line, each at most `width` characters. */
  render(now: number, width = 100): string[] {
    this.expire(now);
    const lines: string[] = [];
    const rates = this.rates(now);
    lines.push(
      `tasq monitor · deployment ${this.deployment} · ${this.source} · ${new Date(now).toISOString().slice(11, 19)} UTC · q to quit`,
    );
    lines.push(
      `rates: ${rates.succeeded.toFixed(1)} succeeded/s  ${rates.failed.toFixed(1)} failed/s` +
        (this.mode === 'events' ? `  (events seen ${this.eventsSeen})` : '  (from stored cluster stats)'),
    );
    lines.push('');
    lines.push(`CLUSTERS (${this.clusters.size})`);
    if (this.clusters.size === 0) lines.push('  none reporting yet');
    for (const cluster of [...this.clusters.values()].sort((a, b) => a.id.localeCompare(b.id))) {
      const state = cluster.offline ? 'offline' : now - cluster.lastSeen > LOST_AFTER_MS ? 'lost' : 'online';
      lines.push(
        `  ${pad(cluster.id, 40)} ${pad(state, 8)} workers ${pad(String(cluster.workers), 3)} prefetched ${pad(String(cluster.prefetched), 5)} queues ${cluster.queues.join(',')}`,
      );
    }
    lines.push('');
    lines.push('WORKERS');
    lines.push(`  ${pad('cluster', 40)} ${pad('pid', 8)} ${pad('state', 14)} ${pad('rss', 9)} tasks done`);
    const workers = [...this.workers.values()].sort(
      (a, b) => a.cluster.localeCompare(b.cluster) || a.pid - b.pid,
    );
    if (workers.length === 0) lines.push('  none reporting yet');
    for (const worker of workers) {
      const state = worker.offline
        ? `offline`
        : now - worker.lastSeen > LOST_AFTER_MS
          ? 'lost'
          : worker.busy > 0
            ? `busy (${worker.busy})`
            : 'idle';
      lines.push(
        `  ${pad(worker.cluster, 40)} ${pad(String(worker.pid), 8)} ${pad(state, 14)} ${pad(megabytes(worker.rssBytes), 9)} ${worker.tasksDone}`,
      );
    }
    lines.push('');
    lines.push('QUEUES');
    if (this.queueSizes.length === 0) lines.push('  (sizes not read yet)');
    for (const size of this.queueSizes) {
      lines.push(
        `  ${pad(size.queue, 30)} ready ${pad(String(size.ready), 7)} delayed ${pad(String(size.delayed ?? '-'), 6)} reserved ${pad(String(size.reserved ?? '-'), 6)} dead ${size.dead ?? '-'}`,
      );
    }
    lines.push('');
    lines.push('RECENT FAILURES');
    if (this.failures.length === 0) lines.push('  none');
    for (const failure of this.failures) {
      lines.push(
        `  ${new Date(failure.at).toISOString().slice(11, 19)} ${failure.name} ${failure.jobId}: ${failure.error.replace(/\s+/g, ' ')}`,
      );
    }
    return lines.map((line) => (line.length > width ? `${line.slice(0, Math.max(1, width - 1))}…` : line));
  }

  private rates(now: number): { succeeded: number; failed: number } {
    while (this.finishes.length > 0 && now - this.finishes[0]!.at > RATE_WINDOW_MS) this.finishes.shift();
    const reporting = [...this.clusters.values()]
      .filter((cluster) => !cluster.offline && this.totals.has(cluster.id))
      .map((cluster) => cluster.id);
    if (reporting.length > 0) {
      const sum = { succeeded: 0, failed: 0 };
      for (const id of reporting) {
        const { rates } = this.totals.get(id)!;
        sum.succeeded += rates.succeeded;
        sum.failed += rates.failed;
      }
      return sum;
    }
    while (this.finishes.length > 0 && now - this.finishes[0]!.at > RATE_WINDOW_MS) this.finishes.shift();
    let succeeded = 0;
    let failed = 0;
    for (const finish of this.finishes)
      if (finish.ok) succeeded++;
      else failed++;
    return { succeeded: succeeded / (RATE_WINDOW_MS / 1000), failed: failed / (RATE_WINDOW_MS / 1000) };
  }

  private noteTotals(cluster: string, at: number, succeeded: number, failed: number): void {
    const previous = this.totals.get(cluster);
    if (previous && at <= previous.at) return;
    const seconds = previous ? (at - previous.at) / 1000 : 0;
    const rates = previous
      ? {
          succeeded: Math.max(0, succeeded - previous.succeeded) / seconds,
          failed: Math.max(0, failed - previous.failed) / seconds,
        }
      : { succeeded: 0, failed: 0 };
    this.totals.set(cluster, { at, succeeded, failed, rates });
  }

  private touch(cluster: string, now: number): void {
    const row = this.clusters.get(cluster);
    if (row && !row.offline) row.lastSeen = now;
  }

  private expire(now: number): void {
    for (const [id, cluster] of this.clusters) {
      if (now - cluster.lastSeen > 2 * LOST_AFTER_MS) {
        this.clusters.delete(id);
        this.totals.delete(id);
      }
    }
    for (const [key, worker] of this.workers) {
      const age = now - worker.lastSeen;
      if ((worker.offline && age > LOST_AFTER_MS / 2) || age > 2 * LOST_AFTER_MS) this.workers.delete(key);
    }
  }
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function megabytes(bytes: number): string {
  return bytes > 0 ? `${(bytes / 2 ** 20).toFixed(0)} MB` : '-';
}
