/**
 * Intake: what the fetcher brought becomes a held package. A delivery that does not decode is rejected
 * (never run); one an operator cancelled (a cancel mark, read once for the whole batch) or whose
 * `expiresAt` has passed is stored as cancelled or expired and acked, never run; one delivered beyond its
 * maxAttempts fails for good without running; one that came before its eta goes back until then; the
 * rest wait for a worker. Each is dated from when its reserve left.
 */
import {
  type Clock,
  EXPIRED_ERROR_NAME,
  type Logger,
  PackageRejectedError,
  type TaskErrorInfo,
  type TaskResult,
} from '@tasq/core';
import type { BrokerCapabilities, CancelMark, Delivery } from '@tasq/core/backend';
import { cancelledBeforeStartError, type TaskPackage, taskResultOf } from '@tasq/core/internal';
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
  logger: Logger;
  events: ClusterEmitter;
  stats: ClusterStats;
  leaseMs: number;
  maxAttempts: number;
  saveArgs: boolean;
  /** The cancel marks among a batch's job ids, where the broker keeps them (one read per batch). */
  cancelMarks?: (jobIds: readonly string[]) => Promise<CancelMark[]>;
}

export class Intake {
  /** Each task's own run settings, as its workers reported them: filled into packages that leave them out. */
  private readonly runDefaults = new Map<string, TaskRunDefaults>();

  constructor(private readonly options: IntakeOptions) {}

  addRunDefaults(name: string, defaults: TaskRunDefaults): void {
    this.runDefaults.set(name, defaults);
  }

  /** Take in one reserve's deliveries. Never rejects. */
  async acceptBatch(deliveries: readonly Delivery[], requestSentAt: number): Promise<void> {
    const decoded: Array<{ delivery: Delivery; pkg: TaskPackage }> = [];
    for (const delivery of deliveries) {
      const pkg = this.decode(delivery);
      if (pkg) decoded.push({ delivery, pkg });
    }
    const marks = await this.marksOf(decoded.map(({ pkg }) => pkg.id));
    for (const { delivery, pkg } of decoded) this.admit(delivery, pkg, requestSentAt, marks.get(pkg.id));
  }

  /** Take in one delivery (no cancel marks are read). */
  accept(delivery: Delivery, requestSentAt: number): void {
    const pkg = this.decode(delivery);
    if (pkg) this.admit(delivery, pkg, requestSentAt, undefined);
  }

  private decode(delivery: Delivery): TaskPackage | undefined {
    const { codec, monitor, events, stats } = this.options;
    try {
      return codec.decode(delivery.body);
    } catch (error) {
      const reason =
        error instanceof PackageRejectedError
          ? error.message
          : `package rejected: ${(error as Error).message}`;
      stats.rejected++;
      events.emit('package-rejected', { deliveryId: delivery.id, queue: delivery.queue, reason });
      void monitor.rejectDelivery(delivery, reason);
      return undefined;
    }
  }

  private async marksOf(jobIds: string[]): Promise<Map<string, CancelMark>> {
    const read = this.options.cancelMarks;
    if (!read || jobIds.length === 0) return new Map();
    try {
      return new Map((await read(jobIds)).map((mark) => [mark.jobId, mark]));
    } catch (error) {
      // The batch runs: a broker that cannot answer for the marks will not settle the runs either
      // until it is back, and a job whose mark is set while it runs is the running-cancel's business.
      this.options.logger.warn({ err: String(error), jobs: jobIds.length }, 'reading cancel marks failed');
      return new Map();
    }
  }

  private admit(
    delivery: Delivery,
    decoded: TaskPackage,
    requestSentAt: number,
    mark: CancelMark | undefined,
  ): void {
    const { ledger, monitor, clock, events, stats } = this.options;
    const pkg = withRunDefaults(decoded, this.runDefaults.get(decoded.name));
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
    const stopped = mark
      ? this.notStarted(pkg, delivery, cancelledBeforeStartError(pkg.id, mark.reason))
      : pkg.expiresAt !== undefined && pkg.expiresAt <= now
        ? this.notStarted(pkg, delivery, {
            name: EXPIRED_ERROR_NAME,
            message: `job ${pkg.id} expired at ${new Date(pkg.expiresAt).toISOString()} before it started`,
          })
        : undefined;
    if (stopped) {
      ledger.hold(entry);
      events.emit('task-received', entry.ref);
      const notStarted = mark ? 'cancelled' : 'expired';
      void monitor.complete(entry, stopped, { notStarted }).finally(() => ledger.forget(entry));
      return;
    }
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

  /** The outcome stored for a job stopped before it started. */
  private notStarted(pkg: TaskPackage, delivery: Delivery, error: TaskErrorInfo): TaskResult {
    return notStartedResult(pkg, delivery, error, this.options.clock.now(), this.options.saveArgs);
  }
}

/** The outcome stored for a job stopped (cancelled, expired) before it started. */
export function notStartedResult(
  pkg: TaskPackage,
  delivery: Delivery,
  error: { name: string; message: string },
  now: number,
  saveArgs: boolean,
): TaskResult {
  return taskResultOf(
    pkg,
    { status: 'failure', error, startedAt: now, stoppedAt: now },
    { deliveries: delivery.deliveries, ...(saveArgs ? { saveArgs: true } : {}) },
  );
}
