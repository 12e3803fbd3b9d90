/**
 * A running cluster described at one moment: what the `stats` control command answers, what heartbeats
 * carry, and what a broker without pub/sub stores in the result backend for `tasq monitor`.
 */
import type { ClusterEvent, WorkerEvent } from '@tasq/core';
import type { ClusterStats } from '../runtime/events.js';
import type { Sentinel } from '../runtime/sentinel.js';

export interface ClusterIdentity {
  /** `<name>@<host>:<pid>`. */
  id: string;
  /** The cluster name from the configuration (`default` or an alt cluster). */
  name: string;
  host: string;
  pid: number;
  startedAt: number;
  /**
   * Ids of the keys it verifies packages with (core's `keyIdOf`: no secret, every frame carries its
   * signer's): what `tasq check` compares the application's key with.
   */
  keyIds: string[];
}

export interface WorkerSnapshot {
  id: number;
  pid: number;
  rssBytes: number;
  tasksDone: number;
  busy: number;
  state: 'busy' | 'idle' | 'retiring';
  /** What it runs now; absent in snapshots from clusters older than this field. */
  jobs?: { id: string; name: string; queue: string; startedAt: number }[];
}

/** The settings that bound a cluster's workers, for views that show how close each worker is. */
export interface ClusterLimits {
  /** Tasks a worker runs before it is replaced. */
  recycle: number;
  /** Memory past which a worker is replaced after its task; undefined: no limit. */
  maxRssBytes?: number;
  /** Grace period for running tasks on stop. */
  stopTimeoutMs: number;
  /** Hard limit of one run; undefined: none. */
  timeoutMs?: number;
  pool: string;
}

export interface ClusterSnapshot {
  cluster: string;
  name: string;
  host: string;
  pid: number;
  at: number;
  startedAt: number;
  queues: string[];
  poolSize: number;
  concurrency: number;
  workers: WorkerSnapshot[];
  /** Packages held but not yet running. */
  prefetched: number;
  /**
   * Every job the cluster holds (waiting for a worker, running or being settled): on a broker that cannot
   * look a package up, the cluster is what answers that a job is running. Absent in snapshots from
   * clusters older than this field.
   */
  held?: { id: string; name: string; queue: string; startedAt?: number }[];
  running: number;
  stats: ClusterStats;
  /** Monitoring events dropped because pub/sub was slower than the cluster. */
  eventsDropped: number;
  stopping: boolean;
  /** The cluster's key ids (see ClusterIdentity). */
  keyIds: string[];
  /** Absent in snapshots from clusters older than this field. */
  limits?: ClusterLimits;
}

export function snapshotOf(
  sentinel: Sentinel,
  identity: ClusterIdentity,
  now: number,
  eventsDropped: number,
): ClusterSnapshot {
  const held = sentinel.heldCount();
  return {
    cluster: identity.id,
    name: identity.name,
    host: identity.host,
    pid: identity.pid,
    at: now,
    startedAt: identity.startedAt,
    queues: sentinel.config.queues,
    poolSize: sentinel.poolSize,
    concurrency: sentinel.config.concurrency,
    workers: sentinel.workerInfo().map((worker) => ({
      id: worker.id,
      pid: worker.pid ?? identity.pid,
      rssBytes: worker.rssBytes ?? (worker.kind === 'inline' ? process.memoryUsage.rss() : 0),
      tasksDone: worker.tasksDone,
      busy: worker.running,
      state: worker.retiring ? 'retiring' : worker.running > 0 ? 'busy' : 'idle',
      jobs: worker.jobs,
    })),
    prefetched: held.buffered,
    held: sentinel.heldJobs(),
    running: held.running,
    stats: { ...sentinel.stats },
    eventsDropped,
    stopping: sentinel.isStopping,
    keyIds: identity.keyIds,
    limits: {
      recycle: sentinel.config.recycle,
      ...(sentinel.config.maxRssBytes !== undefined ? { maxRssBytes: sentinel.config.maxRssBytes } : {}),
      stopTimeoutMs: sentinel.config.stopTimeoutMs,
      ...(sentinel.config.timeoutMs !== undefined ? { timeoutMs: sentinel.config.timeoutMs } : {}),
      pool: sentinel.config.pool,
    },
  };
}

/** The heartbeats a snapshot stands for: one for the cluster, one per worker. */
export function heartbeatsOf(snapshot: ClusterSnapshot): [ClusterEvent, ...WorkerEvent[]] {
  return [
    {
      type: 'cluster-heartbeat',
      at: snapshot.at,
      cluster: snapshot.cluster,
      host: snapshot.host,
      pid: snapshot.pid,
      queues: snapshot.queues,
      workers: snapshot.workers.filter((w) => w.state !== 'retiring').length,
      prefetched: snapshot.prefetched,
      succeeded: snapshot.stats.succeeded,
      failed: snapshot.stats.failed,
    },
    ...snapshot.workers.map(
      (worker): WorkerEvent => ({
        type: 'worker-heartbeat',
        at: snapshot.at,
        cluster: snapshot.cluster,
        pid: worker.pid,
        rssBytes: worker.rssBytes,
        tasksDone: worker.tasksDone,
        busy: worker.busy,
      }),
    ),
  ];
}
