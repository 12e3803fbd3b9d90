/**
 * Canvas: chains, groups and chords built from signatures, and what follows a finished job. Building and
 * serializing happen here; the cluster's monitor (and sync mode) call `followUps` after saving a result.
 *
 * - chain: each job's return value is prepended to the next one's arguments; a failure stops the chain.
 *   Every link after the first has its id fixed when the chain is built, so a client can wait for the
 *   last one (the chain's result); when a link fails for good, that last id gets the failure instead.
 * - group: jobs sharing a group id; `group()` on the result backend returns their results in order.
 * - chord: a group plus a callback run once, after every member has finished, with the list of their
 *   return values (prepended to its own arguments). A failed member fails the chord instead.
 * - hook: a task run with the finished job's TaskResult, success or failure.
 */
import type { ResultBackend, TaskResult } from './result-backend.js';
import type { Signature } from './task.js';
import type { SignatureData, TaskPackage } from './task-package.js';

/** A follow-up job: what to enqueue, and the fields that tie it to its parent. */
export interface FollowUp {
  signature: SignatureData;
  /** Job id to use (chord callbacks have theirs fixed when the chord is built). */
  id?: string;
  /** Remaining chain after this job. */
  chain?: SignatureData[];
  /** The claim taken to send this one (a chord's); given back if it cannot be sent, for a later run. */
  claimed?: string;
}

export class ChordFailedError extends Error {
  constructor(group: string, failed: TaskResult[]) {
    super(
      `chord ${group}: ${failed.length} member(s) failed: ${failed
        .map((r) => `${r.name} (${r.id}): ${r.error?.message ?? 'failed'}`)
        .join('; ')}`,
    );
    this.name = 'ChordFailedError';
  }
}

export class ChainFailedError extends Error {
  constructor(failed: TaskResult) {
    super(`chain stopped at ${failed.name} (${failed.id}): ${failed.error?.message ?? 'failed'}`);
    this.name = 'ChainFailedError';
  }
}

/** A failure stored for a job that will never run (a chord callback, the last link of a chain). */
export interface CanvasFailure {
  id: string;
  name: string;
  error: Error;
  /** The group it was to join (the last link of a chain enqueued with `group`), and its place there. */
  group?: string;
  groupIndex?: number;
}

/**
 * The claim that a chord's callback is enqueued once. Its members' results carry it as
 * `keepUntilClaimed`, so pruning leaves them alone until the callback has been claimed.
 */
export function chordClaimKey(group: string): string {
  return `chord:${group}`;
}

/**
 * What to enqueue after `pkg` finished with `result` (already saved). For chords, this checks whether
 * the group is complete and claims the callback atomically, so exactly one finisher enqueues it even
 * with members finishing at once on several clusters. `neverRun`: jobs that will not run because this
 * one failed (a failed chord's callback, the end of a stopped chain), whose failure the caller stores.
 */
export async function followUps(
  pkg: TaskPackage,
  result: TaskResult,
  backend: ResultBackend,
): Promise<{ enqueue: FollowUp[]; neverRun: CanvasFailure[] }> {
  const enqueue: FollowUp[] = [];
  const neverRun: CanvasFailure[] = [];
  if (pkg.hook) enqueue.push({ signature: { name: pkg.hook, args: [result] } });
  if (pkg.chain && pkg.chain.length > 0) {
    const [next, ...rest] = pkg.chain as [SignatureData, ...SignatureData[]];
    if (result.status === 'success') {
      enqueue.push({
        signature: { ...next, args: [result.result, ...next.args] },
        ...(next.id ? { id: next.id } : {}),
        ...(rest.length > 0 ? { chain: rest } : {}),
      });
    } else {
      // Links enqueued before ids were fixed have none: nobody can be waiting for them.
      const last = pkg.chain[pkg.chain.length - 1]!;
      if (last.id) {
        neverRun.push({
          id: last.id,
          name: last.name,
          error: new ChainFailedError(result),
          ...(last.group !== undefined ? { group: last.group } : {}),
          ...(last.groupIndex !== undefined ? { groupIndex: last.groupIndex } : {}),
        });
      }
    }
  }
  if (pkg.chord && pkg.group) {
    const members = await backend.group(pkg.group);
    const claimKey = chordClaimKey(pkg.group);
    if (members.length >= pkg.chord.size && (await backend.claimOnce(claimKey))) {
      const callback = pkg.chord.callback;
      const failed = members.filter((m) => m.status === 'failure');
      if (failed.length > 0) {
        neverRun.push({
          id: callback.id ?? `${pkg.group}-callback`,
          name: callback.name,
          error: new ChordFailedError(pkg.group, failed),
        });
      } else {
        enqueue.push({
          signature: { ...callback, args: [members.map((m) => m.result), ...callback.args] },
          ...(callback.id ? { id: callback.id } : {}),
          claimed: claimKey,
        });
      }
    }
  }
  return { enqueue, neverRun };
}

/** Data form of a list of signatures. */
export function toSignatureData(signatures: readonly Signature[]): SignatureData[] {
  return signatures.map((s) => s.toData());
}
