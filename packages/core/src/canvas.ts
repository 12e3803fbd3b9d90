/**
 * Canvas: chains, groups and chords built from signatures, and what follows a finished job. Building and
 * serializing happen here; the cluster's monitor (and sync mode) call `followUps` after saving a result.
 *
 * - chain: each job's return value is prepended to the next one's arguments; a failure stops the chain.
 *   Every link after the first has its id fixed when the chain is built, so a client can wait for the
 *   last one (the chain's result); when a link fails for good, that last id gets the failure instead.
 * - group: jobs sharing a group id; `group()` on the result backend returns their results in order.
 * - chord: a group plus a callback run once, after every member has finished, with the list of their
 *   return values (prepended to its own arguments). A failed member fails the chord instead. Its
 *   bookkeeping (hold, settlement, sending once) is chord.ts.
 * - hook: a task run with the finished job's TaskResult, success or failure.
 */
import { settleChord } from './chord.js';
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
  /**
   * Once this failure is stored its job is never sent (a failed chord's callback: a member that later
   * succeeds on a redelivery does not turn the chord's stored failure into a run).
   */
  closesJob?: boolean;
}

/**
 * What to enqueue after `pkg` finished with `result` (already saved). `neverRun`: jobs that will not run
 * because this one failed (a failed chord's callback, the end of a stopped chain), whose failure the
 * caller stores. `holds`: chord holds to end (`endChordHold`) once those are sent and stored; the chord
 * rules are in chord.ts.
 */
export async function followUps(
  pkg: TaskPackage,
  result: TaskResult,
  backend: ResultBackend,
): Promise<{ enqueue: FollowUp[]; neverRun: CanvasFailure[]; holds: string[] }> {
  const enqueue: FollowUp[] = [];
  const neverRun: CanvasFailure[] = [];
  const holds: string[] = [];
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
  const chord = await settleChord(pkg, backend);
  if (chord?.kind === 'callback') enqueue.push(chord.callback);
  if (chord?.kind === 'failed') neverRun.push(chord.failure);
  if (chord) holds.push(chord.hold);
  return { enqueue, neverRun, holds };
}

/** Data form of a list of signatures. */
export function toSignatureData(signatures: readonly Signature[]): SignatureData[] {
  return signatures.map((s) => s.toData());
}

export { ChordFailedError, chordClaimKey } from './chord.js';
