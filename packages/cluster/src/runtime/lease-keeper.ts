/**
 * The lease keeper: every quarter lease, extends the lease of each held package that has used half of
 * it, so a long task is never delivered twice just because it is long. An extend the broker refuses
 * (`LeaseLostError`) marks the package lost: its run's outcome will not be applied (see monitor.ts).
 */
import type { Clock, Logger } from '@tasq/core';
import { type BrokerClient, LeaseLostError } from '@tasq/core/backend';
import { type CancelTimer, every } from './clock-timers.js';
import type { ClusterEmitter, ClusterStats } from './events.js';
import type { HeldPackage } from './held-package.js';

export interface LeaseKeeperOptions {
  broker: Pick<BrokerClient, 'extend'>;
  held: () => Iterable<HeldPackage>;
  leaseMs: number;
  clock: Clock;
  logger: Logger;
  events: ClusterEmitter;
  stats: ClusterStats;
}

export class LeaseKeeper {
  private cancel: CancelTimer | undefined;

  constructor(private readonly options: LeaseKeeperOptions) {}

  /** How often held leases are looked at: a quarter lease (at least 20 ms). */
  get cycleMs(): number {
    return Math.max(20, Math.floor(this.options.leaseMs / 4));
  }

  start(): void {
    this.cancel ??= every(this.options.clock, this.cycleMs, () => this.extendDue());
  }

  stop(): void {
    this.cancel?.();
  }

  /** Extend every held lease past its half (one request each, never two at once for one package). */
  extendDue(): void {
    const { clock, leaseMs, broker, stats, events, logger } = this.options;
    const now = clock.now();
    const half = leaseMs / 2;
    for (const entry of this.options.held()) {
      if (entry.extending || entry.leaseLost || entry.leaseUntil - now > half) continue;
      entry.extending = true;
      broker
        .extend(entry.delivery, leaseMs)
        .then(
          () => {
            // Dated from when the request left (`now`), not from when its answer was read.
            entry.leaseUntil = Math.max(entry.leaseUntil, now + leaseMs);
            stats.leasesExtended++;
          },
          (error) => {
            if (error instanceof LeaseLostError) {
              entry.leaseLost = true;
              stats.leasesLost++;
              events.emit('lease-lost', { ...entry.ref, operation: 'extend' });
            } else {
              logger.warn({ jobId: entry.ref.id }, `extending a lease failed: ${(error as Error).message}`);
            }
          },
        )
        .finally(() => {
          entry.extending = false;
        });
    }
  }
}
