/**
 * The overview's live data: one subscription to the deployment's events for the whole dashboard, a
 * point a second (see aggregator.ts), queue depth every 2 s, and full cluster snapshots now and then
 * (every 3 s from the result backend without pub/sub). Pages follow it by server-sent events.
 */
import type { ServerResponse } from 'node:http';
import { type EventStream, readClusterStats, subscribeEvents } from '@tasq/cluster';
import type { Deployment } from '../deployment.js';
import { LiveAggregator, type LivePoint } from './aggregator.js';
import { ClusterDirectory, type ClusterSummary } from './cluster-directory.js';
import { runtimeServicesOf } from '@tasq/core/internal';
import { pauseAfter } from './pacing.js';

/** Queue depth is read every 2 s, or after ten times the last read's duration when that is longer. */
const DEPTH_PERIOD_MS = 2_000;
const DEPTH_PACE_FACTOR = 10;

export interface LiveSummary {
  /** Jobs finished per second over the last 5 s. */
  throughput: number;
  /** Failed / finished over the last 60 s; null when nothing finished. */
  failureRate: number | null;
  /** Jobs finished in the last 60 s. */
  finished60s: number;
}

export interface LiveMessage {
  point: LivePoint;
  summary: LiveSummary;
  clusters: ClusterSummary[];
}

export class LiveFeed {
  readonly aggregator = new LiveAggregator();
  readonly directory = new ClusterDirectory();
  private readonly clients = new Set<ServerResponse>();
  private readonly timers: NodeJS.Timeout[] = [];
  private pacedTimer: NodeJS.Timeout | undefined;
  private stream: EventStream | undefined;
  private last: LiveMessage | undefined;
  private closed = false;

  constructor(private readonly deployment: Deployment) {}

  async start(): Promise<void> {
    const { pubsub } = this.deployment;
    if (pubsub) {
      this.stream = await subscribeEvents(this.deployment.config, { pubsub });
      const stream = this.stream;
      void (async () => {
        for await (const event of stream) {
          this.aggregator.ingest(event);
          this.directory.ingest(event, Date.now());
        }
      })();
    }
    this.every(1_000, async () => this.broadcast(this.tick()));
    this.paced(DEPTH_PERIOD_MS, () => this.readDepth());
    this.every(pubsub ? 30_000 : 3_000, () => this.readSnapshots());
  }

  /** The last points and the clusters, for a page that just opened. */
  history(): { points: LivePoint[]; summary: LiveSummary; clusters: ClusterSummary[] } {
    const points = this.aggregator.recent();
    return { points, summary: summarize(points), clusters: this.directory.list(Date.now()) };
  }

  /** Follow the feed as server-sent events: the history first, then a message a second. */
  follow(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`event: history\ndata: ${JSON.stringify(this.history())}\n\n`);
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    clearTimeout(this.pacedTimer);
    for (const client of this.clients) client.end();
    this.clients.clear();
    await this.stream?.close();
  }

  private tick(): LiveMessage {
    const point = this.aggregator.tick(Date.now());
    const points = this.aggregator.recent();
    this.last = { point, summary: summarize(points), clusters: this.directory.list(Date.now()) };
    return this.last;
  }

  private broadcast(message: LiveMessage): void {
    const frame = `data: ${JSON.stringify(message)}\n\n`;
    for (const client of this.clients) client.write(frame);
  }

  private async readDepth(): Promise<void> {
    const seen = this.directory.list(Date.now()).flatMap((c) => c.queues);
    const rows = await this.deployment.queueSizes(this.deployment.queueNames(seen));
    const depth: Record<string, number> = {};
    for (const row of rows) if (row.size) depth[row.queue] = row.size.ready + (row.size.delayed ?? 0);
    this.aggregator.setDepth(depth);
  }

  private async readSnapshots(): Promise<void> {
    const now = Date.now();
    const snapshots = this.deployment.pubsub
      ? (await this.deployment.clusters()).clusters
      : await readClusterStats(runtimeServicesOf(this.deployment.tasq).results, now);
    for (const snapshot of snapshots) {
      this.directory.ingestSnapshot(snapshot, now);
      // Without pub/sub the stored totals are the only source of throughput.
      if (!this.deployment.pubsub)
        this.aggregator.noteTotals(snapshot.cluster, snapshot.stats.succeeded, snapshot.stats.failed);
    }
  }

  /** Run `work` now, then again after {@link pauseAfter} its duration, until closed. */
  private paced(minMs: number, work: () => Promise<void>): void {
    const run = async () => {
      if (this.closed) return;
      const started = performance.now();
      await work().catch(() => {});
      if (this.closed) return;
      this.pacedTimer = setTimeout(run, pauseAfter(performance.now() - started, minMs, DEPTH_PACE_FACTOR));
      this.pacedTimer.unref();
    };
    void run();
  }

  private every(ms: number, work: () => Promise<void>): void {
    let busy = false;
    const run = () => {
      if (busy || this.closed) return;
      busy = true;
      work()
        .catch(() => {})
        .finally(() => {
          busy = false;
        });
    };
    if (ms > 1_000) run();
    const timer = setInterval(run, ms);
    timer.unref();
    this.timers.push(timer);
  }
}

function summarize(points: LivePoint[]): LiveSummary {
  const last5 = points.slice(-5);
  const last60 = points.slice(-60);
  const finished5 = last5.reduce((sum, p) => sum + p.succeeded + p.failed, 0);
  const failed60 = last60.reduce((sum, p) => sum + p.failed, 0);
  const finished60s = last60.reduce((sum, p) => sum + p.succeeded + p.failed, 0);
  return {
    throughput: last5.length === 0 ? 0 : Math.round((finished5 / last5.length) * 10) / 10,
    failureRate: finished60s === 0 ? null : failed60 / finished60s,
    finished60s,
  };
}
