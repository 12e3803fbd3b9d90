/**
 * Does each running cluster have the key this configuration signs with? A cluster without it
 * dead-letters the application's jobs unread, and the application only sees result timeouts.
 *
 * Where the broker has pub/sub, a signed `ping` goes out over remote control: a cluster that verifies it
 * answers (same key); one that cannot answers with a key-mismatch notice naming its key ids (see
 * control-responder.ts). Where it has none (SQS, MongoDB), the key ids each cluster stores with its stats
 * at every heartbeat are compared instead. Either way only key ids travel (core's `keyIdOf`), never a key.
 */
import { CapabilityError, type Tasq } from '@tasq/core';
import { keyIdOf, runtimeServicesOf } from '@tasq/core/internal';
import { readClusterStats, STATS_STALE_MS } from './cluster-stats-record.js';
import { requestControl } from './control-client.js';

export interface ClusterKey {
  /** The cluster's id, `name@host:pid`. */
  cluster: string;
  /** True when the cluster verifies packages signed with this configuration's key. */
  sameKey: boolean;
  /** The cluster's key ids, when it said them (a mismatch notice, stored stats). */
  keyIds?: string[];
}

export interface KeyCheck {
  /** `control`: a signed ping answered within `withinMs`; `stored`: stats stored within `withinMs`. */
  source: 'control' | 'stored';
  withinMs: number;
  /** The id of the key this configuration signs with. */
  keyId: string;
  clusters: ClusterKey[];
}

export async function checkClusterKeys(
  tasq: Tasq,
  options: { waitMs: number; cwd?: string },
): Promise<KeyCheck> {
  const keyId = keyIdOf(tasq.config.secrets[0]!);
  try {
    const { replies, keyMismatches } = await requestControl(tasq, {
      command: 'ping',
      timeoutMs: options.waitMs,
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    });
    const clusters: ClusterKey[] = [
      ...replies.map((reply) => ({ cluster: reply.cluster, sameKey: true })),
      ...keyMismatches.map((notice) => ({ cluster: notice.cluster, sameKey: false, keyIds: notice.keyIds })),
    ];
    return { source: 'control', withinMs: options.waitMs, keyId, clusters: byCluster(clusters) };
  } catch (error) {
    if (!(error instanceof CapabilityError)) throw error;
    const snapshots = await readClusterStats(runtimeServicesOf(tasq).results, Date.now());
    const clusters = snapshots
      // Stats stored by a cluster of a version that did not store its key ids say nothing here.
      .filter((snapshot) => Array.isArray(snapshot.keyIds))
      .map((snapshot) => ({
        cluster: snapshot.cluster,
        sameKey: snapshot.keyIds.includes(keyId),
        keyIds: snapshot.keyIds,
      }));
    return { source: 'stored', withinMs: STATS_STALE_MS, keyId, clusters: byCluster(clusters) };
  }
}

function byCluster(clusters: ClusterKey[]): ClusterKey[] {
  return clusters.sort((a, b) => a.cluster.localeCompare(b.cluster));
}
