/**
 * How many packages the cluster holds ahead of its workers: `queueLimit` (held in all) and `bulk` (taken
 * per reserve). Configured, they are what the configuration says. Left to the library, they follow the
 * pace of the runs: at least the configuration's defaults (twice and four times what the pool can run
 * at once), and as much as the pool finishes in HOLD_AHEAD_MS, up to MAX_ADAPTIVE_BULK per reserve.
 *
 * Why: a fixed hold is wrong one way or the other. At concurrency 1 the defaults hold 4 packages, so
 * short tasks pay a reserve (a claim statement on PostgreSQL) every second job: 0.60× the throughput of a
 * cluster tuned to hold 20 on PostgreSQL, 0.85× on SQLite (apps/bench, quiet machine). Holding 20 at
 * concurrency 1 for long tasks, though, takes work another cluster could start now. Sized by the time the
 * held packages take to run, a cluster holds a moment's work whatever the task length.
 */
import type { Clock } from '@tasq/core';

/** The work a cluster holds ahead, in time: long enough to cover a few reserve round trips. */
export const HOLD_AHEAD_MS = 50;
/** The largest bulk the pace may choose (the configuration's default never exceeds it either). */
export const MAX_ADAPTIVE_BULK = 100;
/** How often the pace is measured (runs ended over at least this long). */
export const PACE_WINDOW_MS = 250;

export interface HoldLimits {
  readonly bulk: number;
  readonly queueLimit: number;
}

export class HoldAhead implements HoldLimits {
  private paced: HoldLimits;
  private windowStartedAt: number;
  private runsInWindow = 0;
  private lastRunEndedAt = Number.NEGATIVE_INFINITY;

  /** `adaptive`: the configuration left bulk and queueLimit to the library. */
  constructor(
    private readonly configured: HoldLimits,
    private readonly adaptive: boolean,
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    this.paced = configured;
    this.windowStartedAt = clock.now();
  }

  get bulk(): number {
    return this.current().bulk;
  }

  get queueLimit(): number {
    return this.current().queueLimit;
  }

  /** A run ended: count it, and at the end of each window size the hold to the pace measured. */
  runEnded(): void {
    if (!this.adaptive) return;
    const now = this.clock.now();
    this.lastRunEndedAt = now;
    this.runsInWindow++;
    const elapsed = now - this.windowStartedAt;
    if (elapsed < PACE_WINDOW_MS) return;
    const finishedInHold = Math.ceil((this.runsInWindow / elapsed) * HOLD_AHEAD_MS);
    this.windowStartedAt = now;
    this.runsInWindow = 0;
    const floor = this.configured;
    // Half in each reserve: two reserves are in flight while the pool works through the rest.
    const bulk = Math.min(
      Math.max(floor.bulk, MAX_ADAPTIVE_BULK),
      Math.max(floor.bulk, Math.ceil(finishedInHold / 2)),
    );
    this.paced = { bulk, queueLimit: Math.max(floor.queueLimit, 2 * bulk) };
  }

  /**
   * The paced hold while runs keep ending; the configured one once none has ended for two windows (the
   * pool is idle, or busy with long runs): a pace measured on short tasks must not fill the cluster with
   * long ones that arrive later.
   */
  private current(): HoldLimits {
    if (!this.adaptive || this.clock.now() - this.lastRunEndedAt > 2 * PACE_WINDOW_MS) return this.configured;
    return this.paced;
  }
}
