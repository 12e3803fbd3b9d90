/**
 * Cluster stats for brokers without pub/sub (SQS, MongoDB): each cluster saves its snapshot in the result
 * backend at every heartbeat, as a result record with the reserved task name `tasq.cluster-stats` and the
 * id `tasq-cluster-stats:<cluster id>` (a save replaces the previous one). `tasq monitor` lists those
 * records and shows clusters whose snapshot is younger than STATS_STALE_MS. The records are ordinary
 * successes to the backend: `saveLimit: -1` prunes them, so monitoring without pub/sub needs results kept.
 */
import type { TaskResult } from '@tasq/core';
import type { ResultBackend } from '@tasq/core/backend';
import type { ClusterSnapshot } from './snapshot.js';

export const CLUSTER_STATS_TASK = 'tasq.cluster-stats';
/** A stored snapshot older than this is a cluster that went away without saying so. */
export const STATS_STALE_MS = 15_000;

export function statsRecordOf(snapshot: ClusterSnapshot): TaskResult {
  return {
    id: `tasq-cluster-stats:${snapshot.cluster}`,
    name: CLUSTER_STATS_TASK,
    queue: snapshot.queues[0] ?? '',
    status: 'success',
    result: snapshot,
    attempts: 1,
    enqueuedAt: snapshot.startedAt,
    startedAt: snapshot.startedAt,
    stoppedAt: snapshot.at,
  };
}

/** Snapshots of clusters that reported within STATS_STALE_MS of `now`, newest first. */
export async function readClusterStats(results: ResultBackend, now: number): Promise<ClusterSnapshot[]> {
  const records = await results.list({ name: CLUSTER_STATS_TASK, limit: 200 });
  return records
    .filter((record) => now - record.stoppedAt <= STATS_STALE_MS)
    .map((record) => record.result as ClusterSnapshot)
    .filter((snapshot) => typeof snapshot === 'object' && snapshot !== null && !snapshot.stopping);
}
