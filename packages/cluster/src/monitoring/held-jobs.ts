/**
 * The running clusters as a source of job states, for the administration API on a broker that cannot
 * look a package up (RabbitMQ, SQS): the snapshot each live cluster answers with (remote control) or
 * stores at each heartbeat (no pub/sub) lists the jobs it holds. A job no live cluster lists is not
 * claimed to be anything: the administration API answers `unknown`.
 */
import type { Tasq } from '@tasq/core';
import type { HeldJob, HeldJobsSource } from '@tasq/core/internal';
import { findLiveClusters } from './live-clusters.js';
import type { ClusterSnapshot } from './snapshot.js';

export function liveHeldJobs(tasq: Tasq, options: { waitMs: number; cwd?: string }): HeldJobsSource {
  return {
    async find(jobId: string): Promise<HeldJob | undefined> {
      const live = await findLiveClusters(tasq, options);
      for (const snapshot of live.clusters) {
        const job = heldIn(snapshot).find((held) => held.id === jobId);
        if (job) {
          return {
            id: job.id,
            queue: job.queue,
            task: job.name,
            cluster: snapshot.cluster,
            ...(job.startedAt ? { startedAt: job.startedAt } : {}),
            reportedAt: snapshot.at,
          };
        }
      }
      return undefined;
    },
  };
}

/** What a snapshot says its cluster holds; a cluster older than `held` lists only what its workers run. */
function heldIn(
  snapshot: ClusterSnapshot,
): { id: string; name: string; queue: string; startedAt?: number }[] {
  return snapshot.held ?? snapshot.workers.flatMap((worker) => worker.jobs ?? []);
}
