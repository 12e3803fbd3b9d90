/**
 * The clusters of the deployment as the overview lists them: kept up to date by heartbeats (events) and
 * by full snapshots (remote control `stats`, or the snapshots clusters store when there is no pub/sub).
 * A cluster whose last heartbeat is older than `staleMs` is marked stale; one that said goodbye, offline.
 */
import type { ClusterSnapshot } from '@tasq/cluster';
import type { TasqEvent } from '@tasq/core';

export interface ClusterSummary {
  id: string;
  name: string;
  host: string;
  pid: number;
  /** Epoch ms; undefined until a snapshot told. */
  startedAt?: number;
  workers: number;
  queues: string[];
  lastHeartbeat: number;
  stale: boolean;
  offline: boolean;
}

export class ClusterDirectory {
  private readonly clusters = new Map<string, Omit<ClusterSummary, 'stale'>>();
  private readonly snapshots = new Map<string, ClusterSnapshot>();

  constructor(
    private readonly staleMs = 10_000,
    /** Offline or long-silent clusters are forgotten after this. */
    private readonly forgetMs = 5 * 60_000,
  ) {}

  ingest(event: TasqEvent, now: number): void {
    if (
      event.type !== 'cluster-online' &&
      event.type !== 'cluster-heartbeat' &&
      event.type !== 'cluster-offline'
    )
      return;
    const known = this.clusters.get(event.cluster);
    this.clusters.set(event.cluster, {
      id: event.cluster,
      name: known?.name ?? event.cluster.split('@')[0]!,
      host: event.host,
      pid: event.pid,
      ...(known?.startedAt !== undefined
        ? { startedAt: known.startedAt }
        : event.type === 'cluster-online'
          ? { startedAt: event.at }
          : {}),
      workers: event.workers,
      queues: event.queues,
      lastHeartbeat: Math.min(event.at, now),
      offline: event.type === 'cluster-offline',
    });
  }

  ingestSnapshot(snapshot: ClusterSnapshot, now: number): void {
    this.snapshots.set(snapshot.cluster, snapshot);
    const known = this.clusters.get(snapshot.cluster);
    this.clusters.set(snapshot.cluster, {
      id: snapshot.cluster,
      name: snapshot.name,
      host: snapshot.host,
      pid: snapshot.pid,
      startedAt: snapshot.startedAt,
      workers: snapshot.workers.filter((w) => w.state !== 'retiring').length,
      queues: snapshot.queues,
      lastHeartbeat: Math.max(known?.lastHeartbeat ?? 0, Math.min(snapshot.at, now)),
      offline: snapshot.stopping,
    });
  }

  list(now: number): ClusterSummary[] {
    for (const [id, cluster] of this.clusters) {
      if (
        now - cluster.lastHeartbeat > this.forgetMs ||
        (cluster.offline && now - cluster.lastHeartbeat > 60_000)
      ) {
        this.clusters.delete(id);
        this.snapshots.delete(id);
      }
    }
    return [...this.clusters.values()]
      .map((cluster) => ({
        ...cluster,
        stale: !cluster.offline && now - cluster.lastHeartbeat > this.staleMs,
      }))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The last full snapshot of each cluster still listed. */
  snapshotList(): ClusterSnapshot[] {
    return [...this.snapshots.values()].filter((s) => this.clusters.has(s.cluster));
  }
}
