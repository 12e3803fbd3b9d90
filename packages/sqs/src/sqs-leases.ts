/**
 * Receipts and the broker's own record of the leases it handed out.
 *
 * A receipt is plain data (it survives structured clone and JSON, so a delivery may be copied between
 * threads or processes). What changes during a lease — when it ends after an extend, whether it is
 * being or has been settled — lives here, in the broker, keyed by SQS's receipt handle (unique per
 * receive). This record is what makes a second ack a LeaseLostError: SQS itself answers a DeleteMessage
 * with a used-up receipt handle with success.
 */
import { InvalidArgumentError, LeaseLostError } from '@tasq/core/backend';

const RECEIPT_TYPE = 'tasq.sqs.receipt';
/** Settled receipt handles remembered to refuse a second settle; a second settle comes soon after the first. */
const SETTLED_REMEMBERED = 10_000;
/** A held lease that ended this long ago without being settled is forgotten (its consumer went away). */
const FORGET_ENDED_AFTER_MS = 60_000;

/** The broker's handle on one lease: `Delivery.receipt`. Callers never look inside. */
export interface SqsReceipt {
  readonly type: typeof RECEIPT_TYPE;
  readonly queueUrl: string;
  /** The SQS queue name, and the name of its dead-letter queue. */
  readonly queueName: string;
  readonly deadLetterQueueName: string;
  readonly receiptHandle: string;
  /** The message body exactly as SQS holds it, so a dead-lettered copy is byte for byte the original. */
  readonly encodedBody: string;
  readonly messageGroupId?: string;
  /** The package's label attributes (job id, task, expiry), copied onto a dead letter. */
  readonly labelAttributes?: Record<
    string,
    { DataType?: string | undefined; StringValue?: string | undefined }
  >;
  /** Wall-clock time (ms) by which SQS ends the lease at the latest, as given by reserve. */
  readonly leaseEndsAt: number;
}

export function createReceipt(fields: Omit<SqsReceipt, 'type'>): SqsReceipt {
  return { type: RECEIPT_TYPE, ...fields };
}

/** The receipt of a delivery reserved from an SQS broker; InvalidArgumentError for anything else. */
export function receiptOf(delivery: { receipt: unknown } | undefined): SqsReceipt {
  const receipt = delivery?.receipt as Partial<SqsReceipt> | undefined;
  if (
    typeof receipt !== 'object' ||
    receipt === null ||
    receipt.type !== RECEIPT_TYPE ||
    typeof receipt.queueUrl !== 'string' ||
    typeof receipt.receiptHandle !== 'string' ||
    typeof receipt.encodedBody !== 'string' ||
    typeof receipt.leaseEndsAt !== 'number'
  ) {
    throw new InvalidArgumentError('sqs broker: this delivery was not reserved from an SQS broker');
  }
  return receipt as SqsReceipt;
}

interface HeldLease {
  settling: boolean;
  leaseEndsAt: number;
}

export class LeaseBook {
  private readonly held = new Map<string, HeldLease>();
  private readonly settled = new Set<string>();
  private trackedSinceSweep = 0;

  /** Record a lease handed out by reserve. */
  track(receipt: SqsReceipt): void {
    this.held.set(receipt.receiptHandle, { settling: false, leaseEndsAt: receipt.leaseEndsAt });
    if (++this.trackedSinceSweep >= 1000) this.sweep();
  }

  /** When the lease ends at the latest, as far as this broker knows. */
  leaseEndsAt(receipt: SqsReceipt): number {
    return this.held.get(receipt.receiptHandle)?.leaseEndsAt ?? receipt.leaseEndsAt;
  }

  /** Refuse an operation on a lease that is settled or being settled. */
  checkHeld(receipt: SqsReceipt, operation: string): void {
    const how = this.settled.has(receipt.receiptHandle)
      ? 'was already settled'
      : this.held.get(receipt.receiptHandle)?.settling
        ? 'is being settled'
        : undefined;
    if (how)
      throw new LeaseLostError(
        `sqs broker: ${operation} on queue "${receipt.queueName}": this delivery ${how}`,
      );
  }

  /** Start settling (ack, release, deadLetter): a second settle meanwhile is refused. */
  beginSettle(receipt: SqsReceipt, operation: string): void {
    this.checkHeld(receipt, operation);
    const lease = this.held.get(receipt.receiptHandle);
    if (lease) lease.settling = true;
    else this.held.set(receipt.receiptHandle, { settling: true, leaseEndsAt: receipt.leaseEndsAt });
  }

  /** The lease now ends at `leaseEndsAt` (extend, or a confirmation before settling). */
  renewed(receipt: SqsReceipt, leaseEndsAt: number): void {
    const lease = this.held.get(receipt.receiptHandle);
    if (lease) lease.leaseEndsAt = leaseEndsAt;
    else this.held.set(receipt.receiptHandle, { settling: false, leaseEndsAt });
  }

  /** Settling ended: the lease is gone for good (`settled`), or still ours after a failure the caller may retry. */
  endSettle(receipt: SqsReceipt, outcome: 'settled' | 'held'): void {
    if (outcome === 'held') {
      const lease = this.held.get(receipt.receiptHandle);
      if (lease) lease.settling = false;
      return;
    }
    this.held.delete(receipt.receiptHandle);
    this.settled.add(receipt.receiptHandle);
    if (this.settled.size > SETTLED_REMEMBERED) {
      // Sets iterate in insertion order: drop the oldest.
      this.settled.delete(this.settled.values().next().value!);
    }
  }

  private sweep(): void {
    this.trackedSinceSweep = 0;
    const before = Date.now() - FORGET_ENDED_AFTER_MS;
    for (const [handle, lease] of this.held) {
      if (!lease.settling && lease.leaseEndsAt < before) this.held.delete(handle);
    }
  }
}
