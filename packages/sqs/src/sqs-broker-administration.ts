/**
 * The SQS broker's administration capability: dead letters only. SQS shows a message only to the
 * ReceiveMessage that takes it (under a visibility timeout) and keeps nothing else every instance could
 * read, so `lookup`, `browse`, `remove`, `pause` and `cancelMarks` are declared false; `size` still
 * counts ready, delayed, reserved and dead packages.
 *
 * Dead letters live in `<name>-dead`. Every operation receives them under a visibility timeout of
 * {@link HOLD_SECONDS} (hidden from everyone else meanwhile), deletes those it takes out (a requeue only
 * after the copy is stored on the work queue) and makes the rest visible again at once; if the process
 * dies meanwhile they come back when the timeout ends. Nothing is lost, and two operators never take
 * the same letter.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type DeleteMessageBatchCommandOutput,
  GetQueueAttributesCommand,
  type GetQueueAttributesCommandOutput,
  ListQueuesCommand,
  type ListQueuesCommandOutput,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type ReceiveMessageCommandOutput,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import {
  type BrokerAdministration,
  type BrokerAdministrationCapabilities,
  BrokerError,
  type DeadLetterFilter,
  type DeadLetterRetention,
  checkLimit,
  checkPackageIds,
  checkRequeueRequests,
  InvalidArgumentError,
  optionalCount,
  optionalText,
  type PackageListQuery,
  type PackagePage,
  pageOfDeadLetters,
  parseDeadLetterCursor,
  newestDeathFirst,
  type RequeueRequest,
  type StoredPackage,
} from '@tasq/core/backend';
import { decodeBody, encodeBody, SQS_MAX_BATCH_ENTRIES } from './sqs-body.js';
import type { SqsQueueNames } from './sqs-names.js';

/** Most dead letters one operation reads (and holds) from a dead-letter queue. */
export const MAX_DEAD_SCAN = 10_000;
/** How long a read holds the dead letters it received, should it not give them back itself. */
const HOLD_SECONDS = 60;

/** Message attributes of tasq's packages and dead letters. */
export const ATTRIBUTES = {
  reason: 'tasq.reason',
  sourceQueue: 'tasq.queue',
  deliveries: 'tasq.deliveries',
  deadAt: 'tasq.dead-at',
  /** The id the package had on its work queue (the dead-letter copy gets an id of its own from SQS). */
  packageId: 'tasq.package-id',
  jobId: 'tasq.job-id',
  task: 'tasq.task',
  expiresAt: 'tasq.expires-at',
} as const;

/** The label attributes, carried from enqueue to dead letter to requeue. */
export const LABEL_ATTRIBUTES = [ATTRIBUTES.jobId, ATTRIBUTES.task, ATTRIBUTES.expiresAt] as const;

/** What the administration needs of its broker. */
export interface SqsAdministrationHost {
  readonly fifo: boolean;
  readonly queuePrefix: string;
  readonly deadLetterSuffix: string;
  send<Output>(command: object, context: { operation: string; queue?: string }): Promise<Output>;
  names(queue: string): SqsQueueNames;
  findUrl(name: string): Promise<string | undefined>;
  requireQueueUrl(name: string): Promise<string>;
  checkOpen(operation: string): void;
}

/** One dead letter as received, with where it came from. */
interface HeldLetter {
  message: Message;
  stored: StoredPackage;
  /** The SQS name of its work queue. */
  workQueue: string;
}

export class SqsBrokerAdministration implements BrokerAdministration {
  readonly capabilities: BrokerAdministrationCapabilities = Object.freeze({
    lookup: false,
    browse: false,
    deadLetters: true,
    remove: false,
    pause: false,
    cancelMarks: false,
  });

  constructor(private readonly host: SqsAdministrationHost) {}

  async listDead(query: Omit<PackageListQuery, 'states'>): Promise<PackagePage> {
    const names = this.names(query?.queue, 'listDead');
    const limit = checkLimit(query.limit);
    const after = query.cursor === undefined ? undefined : parseDeadLetterCursor(query.cursor, 'sqs');
    const task = optionalText('task', query.task);
    const letters =
      (await this.withDeadLetters(query.queue, names, 'listDead', (held) => held.map((l) => l.stored))) ?? [];
    return pageOfDeadLetters(letters, { limit, after, task });
  }

  async requeueDead(requests: readonly RequeueRequest[]): Promise<string[]> {
    const wanted = new Map<string, RequeueRequest>();
    for (const request of checkRequeueRequests(requests)) wanted.set(request.packageId, request);
    if (wanted.size === 0) return [];
    const requeued: string[] = [];
    for (const { queue, names } of await this.deadLetterQueues('requeueDead')) {
      if (requeued.length === wanted.size) break;
      await this.withDeadLetters(queue, names, 'requeueDead', async (letters, take) => {
        for (const letter of letters) {
          const request = wanted.get(letter.stored.packageId);
          if (!request || requeued.includes(request.packageId)) continue;
          // The copy first; only then the letter goes. A crash in between leaves the letter dead beside
          // its live copy, never neither.
          await this.sendLiveCopy(letter, request.body);
          take(letter);
          requeued.push(request.packageId);
        }
      });
    }
    return requeued;
  }

  async deleteDead(packageIds: readonly string[]): Promise<string[]> {
    const wanted = new Set(checkPackageIds(packageIds));
    const deleted: string[] = [];
    for (const { queue, names } of await this.deadLetterQueues('deleteDead')) {
      if (deleted.length === wanted.size) break;
      await this.withDeadLetters(queue, names, 'deleteDead', (letters, take) => {
        for (const letter of letters) {
          const id = letter.stored.packageId;
          if (!wanted.has(id) || deleted.includes(id)) continue;
          take(letter);
          deleted.push(id);
        }
      });
    }
    return deleted;
  }

  /**
   * Deletes each letter by receipt (not PurgeQueue: SQS allows one purge per queue a minute and applies
   * it within a minute, and the count it answers would be approximate).
   */
  async purgeDead(filter: DeadLetterFilter): Promise<number> {
    const names = this.names(filter?.queue, 'purgeDead');
    const task = optionalText('task', filter.task);
    const deleted = await this.withDeadLetters(filter.queue, names, 'purgeDead', (letters, take) => {
      const victims = letters.filter((letter) => task === undefined || letter.stored.task === task);
      for (const letter of victims) take(letter);
      return victims.length;
    });
    return deleted ?? 0;
  }

  async trimDead(queue: string, retention: DeadLetterRetention): Promise<number> {
    const names = this.names(queue, 'trimDead');
    const maxAgeMs = optionalCount('maxAgeMs', retention?.maxAgeMs);
    const maxCount = optionalCount('maxCount', retention?.maxCount);
    const cutoff = maxAgeMs === undefined ? undefined : Date.now() - maxAgeMs;
    const deleted = await this.withDeadLetters(queue, names, 'trimDead', (letters, take) => {
      const newestFirst = [...letters].sort((a, b) => newestDeathFirst(a.stored, b.stored));
      const victims = newestFirst.filter(
        (letter, index) =>
          (cutoff !== undefined && (letter.stored.deadAt ?? 0) < cutoff) ||
          (maxCount !== undefined && index >= maxCount),
      );
      for (const letter of victims) take(letter);
      return victims.length;
    });
    return deleted ?? 0;
  }

  /**
   * Receive up to {@link MAX_DEAD_SCAN} letters of a dead-letter queue, hidden from others; `act` marks
   * with `take` those to delete; the rest are made visible again. Undefined when the queue does not exist.
   */
  private async withDeadLetters<T>(
    queue: string,
    names: SqsQueueNames,
    operation: string,
    act: (letters: HeldLetter[], take: (letter: HeldLetter) => void) => Promise<T> | T,
  ): Promise<T | undefined> {
    const url = await this.host.findUrl(names.deadLetter);
    if (url === undefined) return undefined;
    const context = { operation, queue: names.deadLetter };
    const letters: HeldLetter[] = [];
    const taken = new Set<HeldLetter>();
    try {
      const seen = new Set<string>();
      const expected = await this.visibleCount(url, context);
      let longPolled = false;
      while (letters.length < MAX_DEAD_SCAN) {
        const output = await this.host.send<ReceiveMessageCommandOutput>(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: SQS_MAX_BATCH_ENTRIES,
            VisibilityTimeout: HOLD_SECONDS,
            // Short polls while letters are expected; one long poll (which asks every SQS server, where a
            // short poll samples some) before concluding the queue is read.
            WaitTimeSeconds: longPolled ? 1 : 0,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['SentTimestamp', 'MessageGroupId'],
          }),
          context,
        );
        const messages = output.Messages ?? [];
        if (messages.length === 0) {
          if (letters.length >= expected || longPolled) break;
          longPolled = true;
          continue;
        }
        for (const message of messages) {
          // A standard queue may hand out one message twice: the second copy has a fresh receipt handle.
          if (seen.has(message.MessageId!)) continue;
          seen.add(message.MessageId!);
          letters.push({ message, stored: describe(queue, message), workQueue: names.queue });
        }
      }
      return await act(letters, (letter) => taken.add(letter));
    } finally {
      await this.settle(url, context, letters, taken);
    }
  }

  /** Delete the letters taken, make the others visible again. */
  private async settle(
    url: string,
    context: { operation: string; queue: string },
    letters: HeldLetter[],
    taken: Set<HeldLetter>,
  ): Promise<void> {
    const toDelete = letters.filter((letter) => taken.has(letter));
    const toReturn = letters.filter((letter) => !taken.has(letter));
    for (let start = 0; start < toDelete.length; start += SQS_MAX_BATCH_ENTRIES) {
      const batch = toDelete.slice(start, start + SQS_MAX_BATCH_ENTRIES);
      const output = await this.host.send<DeleteMessageBatchCommandOutput>(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: batch.map((letter, index) => ({
            Id: String(index),
            ReceiptHandle: letter.message.ReceiptHandle!,
          })),
        }),
        context,
      );
      const failed = output.Failed ?? [];
      if (failed.length > 0) {
        throw new BrokerError(
          `sqs broker: ${context.operation} on "${context.queue}": SQS did not delete ${failed.length} dead letters (${failed[0]!.Code}: ${failed[0]!.Message}); they stay dead`,
          { code: 'SQS_ERROR' },
        );
      }
    }
    for (let start = 0; start < toReturn.length; start += SQS_MAX_BATCH_ENTRIES) {
      const batch = toReturn.slice(start, start + SQS_MAX_BATCH_ENTRIES);
      // Best effort: a letter not made visible here comes back by itself after HOLD_SECONDS.
      await this.host
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: url,
            Entries: batch.map((letter, index) => ({
              Id: String(index),
              ReceiptHandle: letter.message.ReceiptHandle!,
              VisibilityTimeout: 0,
            })),
          }),
          context,
        )
        .catch(() => undefined);
    }
  }

  /** Store a dead letter again on its work queue: delivery count reset, label kept, the new body when given. */
  private async sendLiveCopy(letter: HeldLetter, body: Uint8Array | undefined): Promise<void> {
    const url = await this.host.requireQueueUrl(letter.workQueue);
    const attributes: Record<string, MessageAttributeValue> = {};
    for (const name of LABEL_ATTRIBUTES) {
      const value = letter.message.MessageAttributes?.[name];
      if (value?.StringValue !== undefined) {
        attributes[name] = { DataType: value.DataType!, StringValue: value.StringValue };
      }
    }
    await this.host.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: body === undefined ? letter.message.Body! : encodeBody(body),
        ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
        ...(this.host.fifo
          ? {
              MessageGroupId: letter.message.Attributes?.MessageGroupId ?? 'tasq',
              // A retried send of this requeue stores one copy (SQS's 5-minute window).
              MessageDeduplicationId: letter.message.MessageId!,
            }
          : {}),
      }),
      { operation: 'requeueDead', queue: letter.workQueue },
    );
  }

  /** Every dead-letter queue of this deployment, with its tasq queue name (ListQueues by prefix). */
  private async deadLetterQueues(operation: string): Promise<{ queue: string; names: SqsQueueNames }[]> {
    this.host.checkOpen(operation);
    const ending = this.host.deadLetterSuffix + (this.host.fifo ? '.fifo' : '');
    const found: { queue: string; names: SqsQueueNames }[] = [];
    let nextToken: string | undefined;
    do {
      const output: ListQueuesCommandOutput = await this.host.send<ListQueuesCommandOutput>(
        new ListQueuesCommand({
          ...(this.host.queuePrefix !== '' ? { QueueNamePrefix: this.host.queuePrefix } : {}),
          MaxResults: 1000,
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
        { operation },
      );
      for (const url of output.QueueUrls ?? []) {
        const name = decodeURIComponent(url.slice(url.lastIndexOf('/') + 1));
        if (!name.startsWith(this.host.queuePrefix) || !name.endsWith(ending)) continue;
        const base = name.slice(this.host.queuePrefix.length, name.length - ending.length);
        const queue = base + (this.host.fifo ? '.fifo' : '');
        try {
          found.push({ queue, names: this.host.names(queue) });
        } catch {
          // Not a name tasq would have made (another deployment's, say): not ours to touch.
        }
      }
      nextToken = output.NextToken;
    } while (nextToken);
    return found;
  }

  private async visibleCount(url: string, context: { operation: string; queue: string }): Promise<number> {
    const output = await this.host.send<GetQueueAttributesCommandOutput>(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
      context,
    );
    return Number.parseInt(output.Attributes?.ApproximateNumberOfMessages ?? '0', 10) || 0;
  }

  private names(queue: unknown, operation: string): SqsQueueNames {
    this.host.checkOpen(operation);
    if (typeof queue !== 'string') throw new InvalidArgumentError('a queue name (string) is needed');
    return this.host.names(queue);
  }
}

/** A received dead letter as a stored package. */
function describe(queue: string, message: Message): StoredPackage {
  const attributes = message.MessageAttributes ?? {};
  const text = (name: string) => attributes[name]?.StringValue;
  const number = (name: string) => {
    const value = text(name);
    return value === undefined || value === '' ? undefined : Number(value);
  };
  const jobId = text(ATTRIBUTES.jobId);
  const task = text(ATTRIBUTES.task);
  const expiresAt = number(ATTRIBUTES.expiresAt);
  const deadAt = Date.parse(text(ATTRIBUTES.deadAt) ?? '');
  const sent = Number(message.Attributes?.SentTimestamp);
  return {
    packageId: text(ATTRIBUTES.packageId) ?? message.MessageId!,
    ...(jobId !== undefined ? { jobId } : {}),
    ...(task !== undefined ? { task } : {}),
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    queue,
    state: 'dead',
    deliveries: number(ATTRIBUTES.deliveries) ?? 0,
    deadAt: Number.isNaN(deadAt) ? (Number.isNaN(sent) ? 0 : sent) : deadAt,
    deadReason: text(ATTRIBUTES.reason) ?? '',
    body: decodeBody(message.Body ?? ''),
  };
}
