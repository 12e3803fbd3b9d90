/**
 * Canvas: chains, groups and chords built from signatures, and what follows a finished job. Building and
 * serializing happen here; the cluster's monitor (and sync mode) call `followUps` after saving a result.
 *
 * - chain: each job's return value is prepended to the next one's arguments; a failure stops the chain.
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
 * with members finishing at once on several clusters. Returns the chord failure to save, if any.
 */
export async function followUps(
  pkg: TaskPackage,
  result: TaskResult,
  backend: ResultBackend,
): Promise<{ enqueue: FollowUp[]; chordFailure?: { callbackId: string; name: string; error: Error } }> {
  const enqueue: FollowUp[] = [];
  if (pkg.hook) enqueue.push({ signature: { name: pkg.hook, args: [result] } });
  if (result.status === 'success' && pkg.chain && pkg.chain.length > 0) {
    const [next, ...rest] = pkg.chain as [SignatureData, ...SignatureData[]];
    enqueue.push({
      signature: { ...next, args: [result.result, ...next.args] },
      ...(rest.length > 0 ? { chain: rest } : {}),
    });
  }
  let chordFailure: { callbackId: string; name: string; error: Error } | undefined;
  if (pkg.chord && pkg.group) {
    const members = await backend.group(pkg.group);
    if (members.length >= pkg.chord.size && (await backend.claimOnce(chordClaimKey(pkg.group)))) {
      const callback = pkg.chord.callback;
      const failed = members.filter((m) => m.status === 'failure');
      if (failed.length > 0) {
        chordFailure = {
          callbackId: callback.id ?? `${pkg.group}-callback`,
          name: callback.name,
          error: new ChordFailedError(pkg.group, failed),
        };
      } else {
        enqueue.push({
          signature: { ...callback, args: [members.map((m) => m.result), ...callback.args] },
          ...(callback.id ? { id: callback.id } : {}),
        });
      }
    }
  }
  return chordFailure ? { enqueue, chordFailure } : { enqueue };
}

/** Data form of a list of signatures. */
export function toSignatureData(signatures: readonly Signature[]): SignatureData[] {
  return signatures.map((s) => s.toData());
}
