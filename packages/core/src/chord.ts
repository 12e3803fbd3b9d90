/**
 * Chord bookkeeping, in one place for every result backend. A chord is a group whose callback runs once,
 * after every member has finished, with the members' return values. The rules:
 *
 * 1. A member's outcome is always saved (whatever `saveResult` and `saveLimit` say), and saved under the
 *    chord's hold (`TaskResult.keepUntilClaimed`), so neither pruning nor `cached` drops it while the
 *    callback still needs it.
 * 2. After a member's last run is saved, the group is read. When every member has an outcome the chord is
 *    settled: all successes send the callback, under the id fixed when the chord was built; any failure
 *    stores the callback's failure under that id instead, and takes that id's send, so the callback
 *    never runs after its failure was stored.
 * 3. The callback goes out once, even when the last members finish at the same moment on several
 *    clusters and both settle the chord: a send of a fixed id is taken once (the client claims
 *    `enqueue:<id>` before sending, and gives the claim back when the send fails).
 * 4. The hold ends (`claimOnce` of the hold key) only after the settlement is sent or stored. A crash at
 *    any point before that leaves the member unacknowledged and its group held: its next delivery
 *    settles the chord again, which sends nothing twice and stores the same failure again.
 *
 * What the result backend does for chords is only its side of rule 1: keep a success whose
 * `keepUntilClaimed` key is not claimed (see docs/broker-contract.md, "Chords").
 */
import type { CanvasFailure, FollowUp } from './canvas.js';
import type { ResultBackend, TaskResult } from './result-backend.js';
import type { TaskPackage } from './task-package.js';

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
 * The key that holds a chord's members in the result backend: they carry it as `keepUntilClaimed`, and
 * pruning and `cached` leave them alone until it is claimed, which happens once the chord is settled.
 */
export function chordClaimKey(group: string): string {
  return `chord:${group}`;
}

/** A chord member's result is saved whatever `saveResult` and `saveLimit` say: its callback is built from it. */
export function isChordMember(pkg: TaskPackage): boolean {
  return pkg.chord !== undefined && pkg.group !== undefined;
}

/** The fields a chord member's stored result carries so that the backend holds it (none for other jobs). */
export function chordHoldOf(pkg: TaskPackage): { keepUntilClaimed?: string } {
  return isChordMember(pkg) ? { keepUntilClaimed: chordClaimKey(pkg.group!) } : {};
}

/**
 * How a finished chord settles. `hold` is the key to claim once the callback is sent or its failure
 * stored (see {@link endChordHold}).
 */
export type ChordSettlement =
  | { kind: 'callback'; callback: FollowUp; hold: string }
  | { kind: 'failed'; failure: CanvasFailure; hold: string };

/**
 * What `pkg`'s finish (its result already saved) settles for its chord: nothing while a member has no
 * outcome yet; otherwise the callback to send with the members' return values in member order, or, when
 * a member failed, the callback's failure to store. Every member that finishes the group may settle it;
 * rules 3 and 4 above make that harmless.
 */
export async function settleChord(
  pkg: TaskPackage,
  backend: ResultBackend,
): Promise<ChordSettlement | undefined> {
  if (!isChordMember(pkg)) return undefined;
  const group = pkg.group!;
  const { callback, size } = pkg.chord!;
  const members = await backend.group(group);
  if (members.length < size) return undefined;
  const hold = chordClaimKey(group);
  // Chords built before callback ids were fixed get one from their group, so their send is taken once too.
  const id = callback.id ?? `${group}-callback`;
  const failed = members.filter((m) => m.status === 'failure');
  if (failed.length > 0) {
    return {
      kind: 'failed',
      failure: {
        id,
        name: callback.name,
        error: new ChordFailedError(group, failed),
        closesJob: true,
      },
      hold,
    };
  }
  return {
    kind: 'callback',
    callback: {
      signature: { ...callback, args: [members.map((m) => m.result), ...callback.args] },
      id,
    },
    hold,
  };
}

/**
 * End a settled chord's hold, so its members are results like any other (pruned, expired). Claiming is
 * idempotent here: the hold ends for whichever finisher claims first, the others find it ended.
 */
export async function endChordHold(backend: ResultBackend, hold: string): Promise<void> {
  await backend.claimOnce(hold);
}
