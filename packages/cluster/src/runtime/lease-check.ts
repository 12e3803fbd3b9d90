/**
 * Whether a finished run's lease is still this cluster's, before its outcome is applied: known without a
 * call while the lease has time to spare, else asked of the broker by extending it.
 */
import type { Clock } from '@tasq/core';
import { type BrokerClient, LeaseLostError } from '@tasq/core/backend';
import type { ClusterStats } from './events.js';
import type { HeldPackage } from './held-package.js';
import { leaseMarginMs, leaseStanding } from './lease.js';

export interface LeaseCheckOptions {
  broker: BrokerClient;
  clock: Clock;
  /** The lease length asked for when extending. */
  retryMs: number;
  /** Counts the leases found lost. */
  stats: ClusterStats;
}

export class LeaseCheck {
  private readonly marginMs: number;

  constructor(private readonly options: LeaseCheckOptions) {
    this.marginMs = leaseMarginMs(options.retryMs);
  }

  /** The lease is ours, with time to spare: no need to ask the broker. */
  surelyHeld(entry: HeldPackage): boolean {
    return (
      !entry.leaseLost && leaseStanding(entry.leaseUntil, this.options.clock.now(), this.marginMs) === 'held'
    );
  }

  /**
   * True while this delivery's lease is ours. Near or past its end, the broker is asked (by extending it;
   * the new lease is dated from when that request left). When the broker cannot be asked or does not
   * answer, the lease counts only until its own end.
   */
  async stillHeld(entry: HeldPackage): Promise<boolean> {
    if (entry.leaseLost) return false;
    if (this.surelyHeld(entry)) return true;
    const { clock, retryMs } = this.options;
    const notEnded = () => clock.now() < entry.leaseUntil;
    if (!this.options.broker.capabilities.extend) return notEnded();
    const sentAt = clock.now();
    try {
      await this.options.broker.extend(entry.delivery, retryMs);
      entry.leaseUntil = Math.max(entry.leaseUntil, sentAt + retryMs);
      return true;
    } catch (error) {
      if (error instanceof LeaseLostError) {
        entry.leaseLost = true;
        this.options.stats.leasesLost++;
        return false;
      }
      return notEnded();
    }
  }
}
