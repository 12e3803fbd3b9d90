/**
 * Intake: what the fetcher brought becomes a held package. A delivery that does not decode is rejected
 * (never run); one delivered beyond its maxAttempts fails for good without running; one that came before
 * its eta goes back until then; the rest wait for a worker. Each is dated from when its reserve left.
 */
import {
  type BrokerCapabilities,
  type Clock,
  type Delivery,
  PackageRejectedError,
  type TaskPackage,
} from '@tasq/core';
import { beyondMaxAttempts } from './delivery-limit.js';
import type { ClusterEmitter, ClusterStats } from './events.js';
import type { HeldLedger } from './held-ledger.js';
import { describeRef, type HeldPackage } from './held-package.js';
import { leaseEndsAt } from './lease.js';
import type { Monitor } from './monitor.js';
import { type TaskRunDefaults, withRunDefaults } from './task-run-defaults.js';

export interface IntakeOptions {
  codec: { decode(body: Uint8Array): TaskPackage };
  capabilities: Pick<BrokerCapabilities, 'receipts'>;
  ledger: HeldLedger;
  monitor: Pick<Monitor, 'complete' | 'release' | 'rejectDelivery'>;
  clock: Clock;
  events: ClusterEmitter;
  stats: ClusterStats;
  leaseMs: number;
  maxAttempts: number;
  saveArgs: boolean;
}

export class Intake {
  /** Each task's own run settings, as its workers reported them: filled into packages that leave them out. */
  private readonly runDefaults = new Map<string, TaskRunDefaults>();

  constructor(private readonly options: IntakeOptions) {}

  addRunDefaults(name: string, defaults: TaskRunDefaults): void {
    this.runDefaults.set(name, defaults);
  }

  accept(delivery: Delivery, requestSentAt: number): void {
    const { codec, ledger, monitor, clock, events, stats } = this.options;
    let pkg: HeldPackage['pkg'];
    try {
      pkg = codec.decode(delivery.body);
    } catch (error) {
      const reason =
        error instanceof PackageRejectedError
          ? error.message
          : `package rejected: ${(error as Error).message}`;
      stats.rejected++;
      events.emit('package-rejected', { deliveryId: delivery.id, queue: delivery.queue, reason });
      void monitor.rejectDelivery(delivery, reason);
      return;
    }
    pkg = withRunDefaults(pkg, this.runDefaults.get(pkg.name));
    const now = clock.now();
    const entry: HeldPackage = {
      delivery,
      pkg,
      ref: describeRef(delivery, pkg),
      leaseUntil: leaseEndsAt(this.options.capabilities, requestSentAt, this.options.leaseMs),
      leaseLost: false,
      extending: false,
      state: 'buffered',
      timers: [],
    };
    stats.received++;
    const refusal = beyondMaxAttempts(pkg, delivery.deliveries, {
      maxAttempts: this.options.maxAttempts,
      now,
      saveArgs: this.options.saveArgs,
    });
    if (refusal) {
      ledger.hold(entry);
      events.emit('task-received', entry.ref);
      void monitor.complete(entry, refusal, { beyondMaxAttempts: true }).finally(() => ledger.forget(entry));
      return;
    }
    if (pkg.eta !== undefined && pkg.eta > now) {
      // Early: a broker whose delay maximum is shorter than the job's delay hands it out before its time.
      ledger.hold(entry);
      void monitor.release(entry, pkg.eta - now, 'not due yet').finally(() => ledger.forget(entry));
      return;
    }
    ledger.enqueue(entry);
    events.emit('task-received', entry.ref);
  }
}
