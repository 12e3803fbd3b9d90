/**
 * What an operator's cancel does to a job this cluster holds: one still waiting for a worker leaves the
 * buffer and is stored as cancelled without running (as a mark read at intake would have done); a
 * running one is stopped by the dispatcher (signal now, kill after the grace) and settled as cancelled
 * when its run ends (see `RunEnding.cancelled` in monitor.ts).
 */
import type { Clock } from '@tasq/core';
import { cancelledBeforeStartError } from '@tasq/core/internal';
import type { Dispatcher } from './dispatcher.js';
import type { HeldLedger } from './held-ledger.js';
import type { HeldPackage } from './held-package.js';
import { notStartedResult } from './intake.js';
import type { Monitor } from './monitor.js';

export interface CancelHeldDeps {
  ledger: HeldLedger;
  dispatcher: Pick<Dispatcher, 'cancelRun'>;
  monitor: Pick<Monitor, 'complete'>;
  clock: Clock;
  saveArgs: boolean;
}

/** Stops held jobs an operator cancelled, found by a mark (cancel-watch.ts) or a pushed cancel. */
export class HeldCancels {
  constructor(private readonly deps: CancelHeldDeps) {}

  /** Stop the held job with this id; false when it is not held here, or already stopping or settling. */
  cancelJob(jobId: string, reason: string): boolean {
    for (const entry of this.deps.ledger.all()) if (entry.pkg.id === jobId) return this.stop(entry, reason);
    return false;
  }

  /** True when the job was held here and is being stopped. */
  stop(entry: HeldPackage, reason: string): boolean {
    const { deps } = this;
    if (entry.cancelled) return false;
    if (entry.state === 'running') return deps.dispatcher.cancelRun(entry, reason);
    if (entry.state !== 'buffered') return false;
    const at = deps.ledger.buffer.indexOf(entry);
    if (at < 0) return false;
    deps.ledger.buffer.splice(at, 1);
    entry.cancelled = { reason };
    const stored = notStartedResult(
      entry.pkg,
      entry.delivery,
      cancelledBeforeStartError(entry.pkg.id, reason),
      deps.clock.now(),
      deps.saveArgs,
    );
    void deps.monitor
      .complete(entry, stored, { notStarted: 'cancelled' })
      .finally(() => deps.ledger.forget(entry));
    return true;
  }
}
