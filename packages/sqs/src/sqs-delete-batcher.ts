/**
 * Acks in bulk: deletes asked for in the same turn of the event loop are sent together as one
 * DeleteMessageBatch per queue (up to 10 entries each), so a cluster that finishes ten tasks at once
 * pays one request instead of ten. A lone delete goes out as a one-entry batch, after the current turn
 * only (no timer), so it waits for nothing.
 */
import { DeleteMessageBatchCommand, type DeleteMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { SQS_MAX_BATCH_ENTRIES } from './sqs-body.js';

interface PendingDelete {
  receiptHandle: string;
  resolve(): void;
  reject(error: unknown): void;
}

/** Sends one DeleteMessageBatch; errors come back already mapped. */
export type SendDeleteBatch = (
  command: DeleteMessageBatchCommand,
  queueName: string,
) => Promise<DeleteMessageBatchCommandOutput>;

/** Turns a failed entry of a batch into the error its ack raises. */
export type EntryFailure = (
  entry: { Code?: string; Message?: string; SenderFault?: boolean },
  queueName: string,
) => Error;

export class DeleteBatcher {
  private readonly pending = new Map<string, { queueName: string; entries: PendingDelete[] }>();
  private readonly inFlight = new Set<Promise<void>>();
  private scheduled = false;

  constructor(
    private readonly send: SendDeleteBatch,
    private readonly entryFailure: EntryFailure,
  ) {}

  /** Delete the message behind `receiptHandle`; resolves once SQS has answered for this entry. */
  delete(queueUrl: string, queueName: string, receiptHandle: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let group = this.pending.get(queueUrl);
      if (!group) {
        group = { queueName, entries: [] };
        this.pending.set(queueUrl, group);
      }
      group.entries.push({ receiptHandle, resolve, reject });
      if (group.entries.length >= SQS_MAX_BATCH_ENTRIES) {
        this.pending.delete(queueUrl);
        this.track(this.sendBatch(queueUrl, group.queueName, group.entries));
      } else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flushPending());
      }
    });
  }

  /** Send whatever waits and resolve when every delete asked for so far has been answered. */
  async flush(): Promise<void> {
    this.flushPending();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private flushPending(): void {
    this.scheduled = false;
    for (const [queueUrl, group] of this.pending) {
      this.pending.delete(queueUrl);
      for (let start = 0; start < group.entries.length; start += SQS_MAX_BATCH_ENTRIES) {
        const slice = group.entries.slice(start, start + SQS_MAX_BATCH_ENTRIES);
        this.track(this.sendBatch(queueUrl, group.queueName, slice));
      }
    }
  }

  private track(batch: Promise<void>): void {
    this.inFlight.add(batch);
    void batch.finally(() => this.inFlight.delete(batch));
  }

  private async sendBatch(queueUrl: string, queueName: string, entries: PendingDelete[]): Promise<void> {
    let output: DeleteMessageBatchCommandOutput;
    try {
      output = await this.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: entries.map((entry, index) => ({ Id: String(index), ReceiptHandle: entry.receiptHandle })),
        }),
        queueName,
      );
    } catch (error) {
      for (const entry of entries) entry.reject(error);
      return;
    }
    const failed = new Map((output.Failed ?? []).map((failure) => [failure.Id, failure]));
    entries.forEach((entry, index) => {
      const failure = failed.get(String(index));
      if (failure) entry.reject(this.entryFailure(failure, queueName));
      else entry.resolve();
    });
  }
}
