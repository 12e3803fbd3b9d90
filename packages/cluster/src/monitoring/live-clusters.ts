/**
 * Which clusters of a deployment are running now, for `tasq info`. Where the broker has pub/sub, every
 * cluster is asked for its snapshot over remote control (`stats`) and those that answer in time are
 * listed; without pub/sub (SQS, MongoDB) the snapshots clusters store at each heartbeat are read instead.
 */
import { CapabilityError, type Tasq } from '@tasq/core';
import { CLUSTER_STATS_TASK, readClusterStats, STATS_STALE_MS } from './cluster-stats-record.js';
import { sendControl } from './control-client.js';
import type { ClusterSnapshot } from './snapshot.js';
import { runtimeServicesOf } from '@tasq/core/internal';

export interface LiveClusters {
  /** `control`: the clusters that answered within `waitMs`; `stored`: snapshots younger than `withinMs`. */
  source: 'control' | 'stored';
  /** How long answers were collected (control), or the age past which a stored snapshot is ignored. */
  withinMs: number;
  /** By cluster id. */
  clusters: ClusterSnapshot[];
}

export async function findLiveClusters(
  tasq: Tasq,
  options: { waitMs: number; cwd?: string },
): Promise<LiveClusters> {
  try {
    const replies = await sendControl(tasq, {
      command: 'stats',
      timeoutMs: options.waitMs,
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    });
    const clusters = replies
      .filter((reply) => reply.ok && reply.result !== undefined)
      .map((reply) => reply.result as unknown as ClusterSnapshot);
    return { source: 'control', withinMs: options.waitMs, clusters: byId(clusters) };
  } catch (error) {
    if (!(error instanceof CapabilityError)) throw error;
    const clusters = await readClusterStats(runtimeServicesOf(tasq).results, Date.now());
    return { source: 'stored', withinMs: STATS_STALE_MS, clusters: byId(clusters) };
  }
}

/** Results that are a task's outcome, not a cluster's stored snapshot (which is kept as a success). */
export function isTaskOutcome(result: { name: string }): boolean {
  return result.name !== CLUSTER_STATS_TASK;
}

function byId(clusters: ClusterSnapshot[]): ClusterSnapshot[] {
  return clusters.sort((a, b) => a.cluster.localeCompare(b.cluster));
}
