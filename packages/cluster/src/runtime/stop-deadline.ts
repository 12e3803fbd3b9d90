/**
 * The wait of a graceful stop: running tasks may finish until the stop deadline, and a second signal
 * cuts that wait short. The second signal may come at any point of stopping, even before the wait has
 * begun; keeping the flag and the wait together is what makes both cases end it.
 */
import type { Clock } from '@tasq/core';
import { after } from './clock-timers.js';
import type { HeldLedger } from './held-ledger.js';

export class StopDeadline {
  private forceKill: (() => void) | undefined;
  private killRequested = false;

  constructor(
    private readonly ledger: Pick<HeldLedger, 'counts' | 'whenRoomMayChange' | 'wake'>,
    private readonly clock: Clock,
  ) {}

  /** A second signal: the wait ends now, or at once when it begins later. */
  expire(): void {
    this.killRequested = true;
    this.forceKill?.();
  }

  /** Resolves when no run is left, or at the deadline (or a second signal), whichever comes first. */
  async drainedOrDeadline(timeoutMs: number): Promise<'drained' | 'deadline'> {
    if (this.killRequested) return 'deadline';
    const control = { done: false };
    const deadline = new Promise<'deadline'>((resolve) => {
      const cancel = after(this.clock, timeoutMs, () => resolve('deadline'));
      this.forceKill = () => {
        cancel();
        resolve('deadline');
      };
    });
    const drained = (async () => {
      while (!control.done && this.ledger.counts().running > 0) await this.ledger.whenRoomMayChange();
      return 'drained' as const;
    })();
    const first = await Promise.race([drained, deadline]);
    control.done = true;
    this.ledger.wake();
    this.forceKill?.();
    return first;
  }
}
