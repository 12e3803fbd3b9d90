/**
 * The Amazon SQS broker. A lease is SQS's visibility timeout, a receipt is SQS's receipt handle, the
 * delivery count is ApproximateReceiveCount. SQS has no pub/sub, no priorities and no result store.
 */
import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  type GetQueueAttributesCommandOutput,
  type Message,
  type MessageAttributeValue,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  type ReceiveMessageCommandOutput,
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  type SendMessageCommandOutput,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import {
  BROKER_SPECIFICATION_VERSION,
  type Broker,
  type BrokerCapabilities,
  BrokerError,
  CapabilityError,
  type Delivery,
  type EnqueueOptions,
  InvalidArgumentError,
  type PackageLabel,
  LeaseLostError,
  PackageTooLargeError,
  type QueueSize,
  type ReserveOptions,
} from '@tasq/core/backend';
import {
  attributeBytes,
  attributeText,
  chunkForBatches,
  decodeBody,
  encodeBody,
  largestPackageBytes,
  SQS_MAX_BATCH_ENTRIES,
} from './sqs-body.js';
import { ATTRIBUTES, LABEL_ATTRIBUTES, SqsBrokerAdministration } from './sqs-broker-administration.js';
import { DeleteBatcher } from './sqs-delete-batcher.js';
import { CredentialsReporter, isQueueMissing, mapSqsError, QUEUE_MISSING_CODE } from './sqs-errors.js';
import { createReceipt, LeaseBook, receiptOf, type SqsReceipt } from './sqs-leases.js';
import { deploymentQueuePrefix, type SqsQueueNames, sqsQueueNames } from './sqs-names.js';
import {
  describeEndpoint,
  type ResolvedSqsOptions,
  resolveSqsOptions,
  type SqsBrokerContext,
  type SqsBrokerOptions,
} from './sqs-options.js';
import { DEAD_LETTER_RETENTION_SECONDS, QueueUrls } from './sqs-queue-urls.js';

/** SQS's longest per-message delay: 15 minutes. Longer delays are re-delayed in hops by core. */
export const SQS_MAX_DELAY_MS = 900_000;
/** SQS's longest visibility timeout (and total lease of one delivery): 12 hours. */
export const SQS_MAX_VISIBILITY_SECONDS = 43_200;
/** SQS's longest long poll. */
export const SQS_MAX_WAIT_SECONDS = 20;
/**
 * A settle call made this close to the end of the lease first confirms the lease with
 * ChangeMessageVisibility, because SQS accepts a DeleteMessage with a receipt handle that has been
 * superseded and silently deletes nothing: without the check, an ack racing a redelivery would report
 * success for a package that will run again.
 */
const LEASE_SAFETY_MARGIN_MS = 1000;
/** The lease taken while a settle that had to confirm its lease finishes (send to the dead queue, delete). */
const SETTLE_LEASE_SECONDS = 30;
/** Batches of one enqueue sent at the same time on standard queues (FIFO queues send one after another, to keep order). */
const ENQUEUE_CONCURRENCY = 4;
/** Attempts for batch entries SQS failed on its side (SenderFault false) before the enqueue gives up. */
const BATCH_ENTRY_ATTEMPTS = 3;

const REASON_ATTRIBUTE = ATTRIBUTES.reason;
const SOURCE_QUEUE_ATTRIBUTE = ATTRIBUTES.sourceQueue;
const DELIVERIES_ATTRIBUTE = ATTRIBUTES.deliveries;
const DEAD_AT_ATTRIBUTE = ATTRIBUTES.deadAt;
/** Longest label values kept as attributes: the label and the dead-letter attributes share the headroom. */
const LABEL_JOB_ID_BYTES = 128;
const LABEL_TASK_BYTES = 256;

/**
 * Amazon SQS broker. Standard queues by default; FIFO queues with `fifo: true`.
 *
 * Times: SQS counts visibility timeouts, delays and long polls in whole seconds, so `leaseMs`,
 * `delayMs` and `waitMs` are rounded up to the next second (a 1.2 s lease holds for 2 s; a delivery is
 * never early). SQS's timers run on wall-clock time, so the broker's own lease bookkeeping does too.
 */
export class SqsBroker implements Broker {
  readonly specificationVersion = BROKER_SPECIFICATION_VERSION;
  readonly name = 'sqs';
  readonly capabilities: BrokerCapabilities;
  /** The SQS client in use (the one passed in `options.client`, or the broker's own). */
  readonly client: SQSClient;
  /**
   * Job administration: dead letters (list, requeue, delete, purge, trim). Ready messages cannot be
   * browsed, looked up or removed, and there are no pause flags or cancel marks (see README).
   */
  readonly administration: SqsBrokerAdministration;

  private readonly options: ResolvedSqsOptions;
  /** `queuePrefix`, then the deployment's part. */
  private readonly queuePrefix: string;
  /** Where SQS is, for error messages. */
  private readonly endpoint: string;
  private readonly ownsClient: boolean;
  private readonly urls: QueueUrls;
  private readonly deletes: DeleteBatcher;
  private readonly credentials: CredentialsReporter;
  private readonly leases = new LeaseBook();
  private readonly closing = new AbortController();
  /** Settle and extend calls under way: `close()` lets them finish before it closes the client. */
  private readonly running = new Set<Promise<unknown>>();
  private closed: Promise<void> | undefined;

  /**
   * `context.deployment` is the configuration's `name` (the plugin passes its context's): any deployment
   * but "default" puts its name in front of every queue name, after `queuePrefix` (see sqs-names.ts).
   */
  constructor(options: SqsBrokerOptions = {}, context: SqsBrokerContext = {}) {
    this.options = resolveSqsOptions(options);
    this.queuePrefix = this.options.queuePrefix + deploymentQueuePrefix(context.deployment);
    this.endpoint = describeEndpoint(this.options);
    const fifo = this.options.fifo;
    this.capabilities = {
      receipts: true,
      extend: true,
      // FIFO queues refuse per-message DelaySeconds.
      delay: { maxMs: fifo ? 0 : SQS_MAX_DELAY_MS },
      priority: false,
      maxBatch: SQS_MAX_BATCH_ENTRIES,
      // One message group keeps enqueue order; standard queues and spread groups promise none.
      fifo: fifo && typeof this.options.messageGroupId === 'string',
      maxPackageBytes: largestPackageBytes(this.options.maxPackageBytes),
      pubsub: false,
    };
    if (this.options.client) {
      this.client = this.options.client;
      this.ownsClient = false;
    } else {
      const config: SQSClientConfig = {};
      if (this.options.region !== undefined) config.region = this.options.region;
      if (this.options.credentials !== undefined) config.credentials = this.options.credentials;
      if (this.options.endpoint !== undefined) config.endpoint = this.options.endpoint;
      if (this.options.maxAttempts !== undefined) config.maxAttempts = this.options.maxAttempts;
      this.client = new SQSClient(config);
      this.ownsClient = true;
    }
    this.administration = new SqsBrokerAdministration({
      fifo: this.options.fifo,
      queuePrefix: this.queuePrefix,
      deadLetterSuffix: this.options.deadLetterSuffix,
      send: (command, context) => this.send(command, context),
      names: (queue) => this.names(queue),
      findUrl: (name) => this.findUrl(name),
      requireQueueUrl: (name) => this.requireUrl(name, 'queue'),
      checkOpen: (operation) => this.checkOpen(operation),
    });
    this.credentials = new CredentialsReporter(this.options.logger);
    this.urls = new QueueUrls((command, context) => this.send(command, context));
    this.deletes = new DeleteBatcher(
      (command, queueName) => this.send(command, { operation: 'ack', queue: queueName }),
      (failure, queueName) =>
        mapSqsError(
          {
            name: failure.Code,
            Code: failure.Code,
            message: failure.Message,
            $fault: failure.SenderFault ? 'client' : 'server',
          },
          { operation: 'ack', queue: queueName },
        ),
    );
  }

  /**
   * Store packages on `queue`: one SendMessage for a single package, SendMessageBatch in chunks of at
   * most 10 packages and at most `maxPackageBytes` of encoded messages otherwise. A package larger than
   * `capabilities.maxPackageBytes` is refused before anything is sent (PackageTooLargeError).
   * `delayMs` is rounded up to whole seconds, at most 15 minutes; FIFO queues take no delay.
   */
  async enqueue(
    queue: string,
    bodies: readonly Uint8Array[],
    options: EnqueueOptions = {},
  ): Promise<string[]> {
    this.checkOpen('enqueue');
    const names = this.names(queue);
    if (bodies.length === 0) return [];
    const delaySeconds = this.delaySeconds(options);
    if (options.priority !== undefined && options.priority !== 0) {
      throw new CapabilityError(
        'sqs broker: SQS has no priorities; remove `priority` or use one queue per priority',
      );
    }
    const limit = this.capabilities.maxPackageBytes!;
    for (const body of bodies) {
      if (body.byteLength > limit) throw new PackageTooLargeError(body.byteLength, limit, this.name);
    }
    const labels = checkLabels(options.labels, bodies.length);
    const encoded = bodies.map(encodeBody);
    const labelAttributes = labels?.map(labelAttributesOf);
    const url = await this.requireUrl(names.queue, 'queue');
    const entries: SendMessageBatchRequestEntry[] = encoded.map((text, index) => ({
      Id: String(index),
      MessageBody: text,
      ...(delaySeconds > 0 ? { DelaySeconds: delaySeconds } : {}),
      ...(labelAttributes ? { MessageAttributes: labelAttributes[index] } : {}),
      ...this.fifoFields(bodies[index]!),
    }));
    if (entries.length === 1) {
      const { Id: _, ...entry } = entries[0]!;
      const sent = await this.send<SendMessageCommandOutput>(
        new SendMessageCommand({ QueueUrl: url, ...entry }),
        {
          operation: 'enqueue',
          queue: names.queue,
        },
      );
      return [sent.MessageId!];
    }
    const ids: string[] = new Array(entries.length);
    const chunks = chunkForBatches(
      encoded.map(
        (text, index) =>
          Buffer.byteLength(text, 'utf8') +
          (labelAttributes
            ? attributeBytes(labelAttributes[index] as Record<string, MessageAttributeValue>)
            : 0),
      ),
      this.options.maxPackageBytes,
    );
    const concurrency = this.options.fifo ? 1 : ENQUEUE_CONCURRENCY;
    let next = 0;
    const sender = async () => {
      while (next < chunks.length) {
        const [start, end] = chunks[next++]!;
        await this.sendBatch(url, names.queue, entries.slice(start, end), start, ids);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, sender));
    return ids;
  }

  /**
   * Take up to `max` (1–10) messages under a visibility timeout of `leaseMs` rounded up to whole seconds
   * (at most 12 hours). Long-polls up to `waitMs` (rounded up to whole seconds; polls of 20 s, SQS's
   * longest, follow one another for longer waits). Aborting `signal` or closing the broker ends the poll
   * at once with no deliveries; a message SQS handed out to the aborted poll stays invisible until its
   * lease runs out, then comes back.
   */
  async reserve(queue: string, options: ReserveOptions): Promise<Delivery[]> {
    const names = this.names(queue);
    const { max, leaseMs, waitMs } = options;
    if (!Number.isInteger(max) || max < 1 || max > SQS_MAX_BATCH_ENTRIES) {
      throw new InvalidArgumentError(
        `sqs broker: reserve max must be a whole number from 1 to 10, got ${max}`,
      );
    }
    const leaseSeconds = this.leaseSeconds(leaseMs);
    if (!(waitMs >= 0)) throw new InvalidArgumentError(`sqs broker: waitMs must be 0 or more, got ${waitMs}`);
    const signal = options.signal
      ? AbortSignal.any([options.signal, this.closing.signal])
      : this.closing.signal;
    if (signal.aborted) return [];
    const url = await this.requireUrl(names.queue, 'queue');
    const waitUntil = Date.now() + waitMs;
    for (;;) {
      const remainingMs = waitUntil - Date.now();
      const waitSeconds =
        remainingMs <= 0 ? 0 : Math.min(SQS_MAX_WAIT_SECONDS, Math.ceil(remainingMs / 1000));
      const startedAt = Date.now();
      let output: ReceiveMessageCommandOutput;
      try {
        output = await this.send<ReceiveMessageCommandOutput>(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: max,
            VisibilityTimeout: leaseSeconds,
            WaitTimeSeconds: waitSeconds,
            MessageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId'],
            // The label, so a dead-letter copy keeps it for listings.
            MessageAttributeNames: [...LABEL_ATTRIBUTES],
          }),
          { operation: 'reserve', queue: names.queue },
          signal,
        );
      } catch (error) {
        if (signal.aborted) return [];
        throw error;
      }
      const messages = output.Messages ?? [];
      if (messages.length > 0) {
        const leaseEndsAt = startedAt + leaseSeconds * 1000;
        return messages.map((message) => this.delivery(queue, names, url, message, leaseEndsAt));
      }
      if (signal.aborted || waitUntil - Date.now() <= 0) return [];
    }
  }

  /**
   * Delete the message (DeleteMessageBatch, shared with other acks of the same moment). LeaseLostError
   * when the delivery was already settled or its lease moved on.
   */
  ack(delivery: Delivery): Promise<void> {
    return this.tracked(async () => {
      const receipt = this.beginSettle(delivery, 'ack');
      try {
        await this.confirmLease(receipt, 'ack');
        await this.deletes.delete(receipt.queueUrl, receipt.queueName, receipt.receiptHandle);
        this.leases.endSettle(receipt, 'settled');
      } catch (error) {
        this.endSettleWithError(receipt, error);
        throw error;
      }
    });
  }

  /**
   * Make the message visible again now, or after `delayMs` (rounded up to whole seconds), with
   * ChangeMessageVisibility. On a FIFO queue a delayed release holds back the rest of its message group
   * until the delay has passed.
   */
  release(delivery: Delivery, options: { delayMs?: number } = {}): Promise<void> {
    return this.tracked(async () => {
      const receipt = this.beginSettle(delivery, 'release');
      try {
        const delayMs = options.delayMs ?? 0;
        if (!(delayMs >= 0))
          throw new InvalidArgumentError(`sqs broker: delayMs must be 0 or more, got ${delayMs}`);
        if (delayMs > SQS_MAX_DELAY_MS) {
          throw new CapabilityError(
            `sqs broker: a release delay of ${delayMs} ms exceeds SQS's maximum of ${SQS_MAX_DELAY_MS} ms`,
          );
        }
        await this.changeVisibility(receipt, Math.ceil(delayMs / 1000), 'release');
        this.leases.endSettle(receipt, 'settled');
      } catch (error) {
        this.endSettleWithError(receipt, error);
        throw error;
      }
    });
  }

  /**
   * Move the message to the queue's dead-letter queue (`<name>-dead`, created with `createQueues`) with
   * the reason, the source queue, the delivery count and the time as message attributes, then delete
   * the original. The lease is confirmed first, so a stale delivery is never copied.
   */
  deadLetter(delivery: Delivery, reason: string): Promise<void> {
    return this.tracked(async () => {
      const receipt = this.beginSettle(delivery, 'deadLetter');
      try {
        await this.confirmLease(receipt, 'deadLetter', true);
        const deadUrl = await this.requireUrl(receipt.deadLetterQueueName, 'deadLetter');
        const attributes: Record<string, MessageAttributeValue> = {
          ...receipt.labelAttributes,
          [ATTRIBUTES.packageId]: { DataType: 'String', StringValue: attributeText(delivery.id, 128) },
          [SOURCE_QUEUE_ATTRIBUTE]: { DataType: 'String', StringValue: attributeText(delivery.queue, 80) },
          [DELIVERIES_ATTRIBUTE]: { DataType: 'Number', StringValue: String(delivery.deliveries) },
          [DEAD_AT_ATTRIBUTE]: { DataType: 'String', StringValue: new Date().toISOString() },
        };
        const room =
          this.options.maxPackageBytes -
          Buffer.byteLength(receipt.encodedBody, 'utf8') -
          attributeBytes(attributes) -
          Buffer.byteLength(REASON_ATTRIBUTE, 'utf8') -
          'String'.length;
        const reasonText = attributeText(reason.length > 0 ? reason : '(no reason given)', room);
        if (reasonText.length > 0)
          attributes[REASON_ATTRIBUTE] = { DataType: 'String', StringValue: reasonText };
        await this.send<SendMessageCommandOutput>(
          new SendMessageCommand({
            QueueUrl: deadUrl,
            MessageBody: receipt.encodedBody,
            MessageAttributes: attributes,
            ...(this.options.fifo
              ? {
                  MessageGroupId: receipt.messageGroupId ?? 'tasq',
                  // A retried deadLetter of the same delivery stores one copy (SQS's 5-minute window).
                  MessageDeduplicationId: delivery.id,
                }
              : {}),
          }),
          { operation: 'deadLetter', queue: receipt.deadLetterQueueName },
        );
        await this.deletes.delete(receipt.queueUrl, receipt.queueName, receipt.receiptHandle);
        this.leases.endSettle(receipt, 'settled');
      } catch (error) {
        this.endSettleWithError(receipt, error);
        throw error;
      }
    });
  }

  /**
   * Set the visibility timeout to `leaseMs` from now (rounded up to whole seconds). SQS caps the total
   * lease of one delivery at 12 hours from when it was received; past that SQS refuses (BrokerError).
   */
  extend(delivery: Delivery, leaseMs: number): Promise<void> {
    return this.tracked(async () => {
      this.checkOpen('extend');
      const receipt = receiptOf(delivery);
      this.leases.checkHeld(receipt, 'extend');
      await this.changeVisibility(receipt, this.leaseSeconds(leaseMs), 'extend');
    });
  }

  /**
   * Counts from GetQueueAttributes: ready = ApproximateNumberOfMessages, reserved = …NotVisible,
   * delayed = …Delayed, dead = every message of the dead-letter queue. SQS's counts are approximate
   * (eventually consistent, about a minute on AWS). A queue that does not exist counts as empty.
   */
  async size(queue: string): Promise<QueueSize> {
    this.checkOpen('size');
    const names = this.names(queue);
    const [counts, dead] = await Promise.all([this.counts(names.queue), this.counts(names.deadLetter)]);
    return {
      ready: counts.visible,
      delayed: counts.delayed,
      reserved: counts.inFlight,
      dead: dead.visible + dead.inFlight + dead.delayed,
    };
  }

  /**
   * PurgeQueue. Returns the approximate count of ready and delayed messages just before. SQS's purge also
   * deletes reserved messages (a later ack of one is a no-op), takes up to 60 s to complete on AWS, and
   * may be called once per queue every 60 s (BrokerError code SQS_PURGE_IN_PROGRESS otherwise).
   */
  async purge(queue: string): Promise<number> {
    this.checkOpen('purge');
    const names = this.names(queue);
    const url = await this.findUrl(names.queue);
    if (url === undefined) return 0;
    const counts = await this.counts(names.queue, url);
    await this.send(new PurgeQueueCommand({ QueueUrl: url }), { operation: 'purge', queue: names.queue });
    return counts.visible + counts.delayed;
  }

  /** End pending long polls (they resolve with no deliveries), send pending acks, close the client. Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort();
      while (this.running.size > 0) await Promise.allSettled([...this.running]);
      await this.deletes.flush();
      if (this.ownsClient) this.client.destroy();
    })();
    return this.closed;
  }

  // --- internals -------------------------------------------------------------------------------------

  /** Send a command; success re-arms the credentials report, errors come back mapped to tasq's set. */
  private async send<Output>(
    command: object,
    context: { operation: string; queue?: string },
    abortSignal?: AbortSignal,
  ): Promise<Output> {
    try {
      // The command union is too wide for one overload of client.send; every caller passes an SQS command.
      const output = (await this.client.send(
        command as never,
        abortSignal ? { abortSignal } : undefined,
      )) as Output;
      this.credentials.succeeded();
      return output;
    } catch (error) {
      if (abortSignal?.aborted) throw error;
      const mapped = mapSqsError(error, { ...context, endpoint: this.endpoint });
      this.credentials.seen(mapped);
      // A cached URL whose queue is gone is dropped, so the next call looks it up (or creates it) again.
      if (isQueueMissing(mapped) && context.queue !== undefined && context.operation !== 'GetQueueUrl') {
        this.urls.forget(context.queue);
      }
      throw mapped;
    }
  }

  private tracked<T>(run: () => Promise<T>): Promise<T> {
    const call = run();
    this.running.add(call);
    const forget = () => this.running.delete(call);
    call.then(forget, forget);
    return call;
  }

  private names(queue: string): SqsQueueNames {
    if (typeof queue !== 'string')
      throw new InvalidArgumentError('sqs broker: the queue name must be a string');
    return sqsQueueNames(queue, {
      prefix: this.queuePrefix,
      deadLetterSuffix: this.options.deadLetterSuffix,
      fifo: this.options.fifo,
    });
  }

  /** The URL of an SQS queue, created first when `createQueues` is on; BrokerError when it does not exist. */
  private async requireUrl(name: string, kind: 'queue' | 'deadLetter'): Promise<string> {
    const attributes: Record<string, string> = { MaximumMessageSize: String(this.options.maxPackageBytes) };
    if (this.options.fifo) {
      attributes.FifoQueue = 'true';
      attributes.ContentBasedDeduplication = 'false';
    }
    if (kind === 'deadLetter') attributes.MessageRetentionPeriod = String(DEAD_LETTER_RETENTION_SECONDS);
    const url = await this.urls.find(name, { create: this.options.createQueues, attributes });
    if (url === undefined) {
      throw new BrokerError(
        `sqs broker: SQS queue "${name}" does not exist; create it, or set the broker option \`createQueues: true\``,
        { code: QUEUE_MISSING_CODE },
      );
    }
    return url;
  }

  /** The URL of an existing SQS queue, or undefined; never creates. */
  private findUrl(name: string): Promise<string | undefined> {
    return this.urls.find(name, { create: false, attributes: {} });
  }

  private async counts(
    name: string,
    knownUrl?: string,
  ): Promise<{ visible: number; inFlight: number; delayed: number }> {
    const url = knownUrl ?? (await this.findUrl(name));
    if (url === undefined) return { visible: 0, inFlight: 0, delayed: 0 };
    let output: GetQueueAttributesCommandOutput;
    try {
      output = await this.send<GetQueueAttributesCommandOutput>(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
        { operation: 'size', queue: name },
      );
    } catch (error) {
      if (isQueueMissing(error)) return { visible: 0, inFlight: 0, delayed: 0 };
      throw error;
    }
    const attributes = output.Attributes ?? {};
    const count = (key: string) =>
      Number.parseInt(attributes[key as keyof typeof attributes] ?? '0', 10) || 0;
    return {
      visible: count('ApproximateNumberOfMessages'),
      inFlight: count('ApproximateNumberOfMessagesNotVisible'),
      delayed: count('ApproximateNumberOfMessagesDelayed'),
    };
  }

  private async sendBatch(
    url: string,
    queueName: string,
    entries: SendMessageBatchRequestEntry[],
    offset: number,
    ids: string[],
  ): Promise<void> {
    let waiting = entries.map((entry, index) => ({ ...entry, Id: String(index) }));
    const byId = new Map(waiting.map((entry, index) => [entry.Id, offset + index]));
    for (let attempt = 1; ; attempt++) {
      const output = await this.send<SendMessageBatchCommandOutput>(
        new SendMessageBatchCommand({ QueueUrl: url, Entries: waiting }),
        { operation: 'enqueue', queue: queueName },
      );
      for (const sent of output.Successful ?? []) ids[byId.get(sent.Id!)!] = sent.MessageId!;
      const failed = output.Failed ?? [];
      if (failed.length === 0) return;
      const refused = failed.filter((failure) => failure.SenderFault);
      if (refused.length > 0 || attempt >= BATCH_ENTRY_ATTEMPTS) {
        const first = refused[0] ?? failed[0]!;
        throw new BrokerError(
          `sqs broker: enqueue on queue "${queueName}": SQS stored ${entries.length - failed.length} of ` +
            `${entries.length} packages of a batch and refused the rest (${first.Code}: ${first.Message})`,
          { code: refused.length > 0 ? 'SQS_ERROR' : 'SQS_BATCH_INCOMPLETE' },
        );
      }
      // SQS's side failed some entries: send just those again, after a short pause.
      const retry = new Set(failed.map((failure) => failure.Id));
      waiting = waiting.filter((entry) => retry.has(entry.Id));
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }

  private fifoFields(body: Uint8Array): { MessageGroupId?: string; MessageDeduplicationId?: string } {
    if (!this.options.fifo) return {};
    const group = this.options.messageGroupId;
    return {
      MessageGroupId: typeof group === 'string' ? group : group(body),
      // The package's own id: a send the SDK retries is stored once; two enqueues store two packages.
      MessageDeduplicationId: randomUUID(),
    };
  }

  private delaySeconds(options: EnqueueOptions): number {
    const delayMs = options.delayMs ?? 0;
    if (!(delayMs >= 0))
      throw new InvalidArgumentError(`sqs broker: delayMs must be 0 or more, got ${delayMs}`);
    if (delayMs === 0) return 0;
    if (this.options.fifo) {
      throw new CapabilityError(
        'sqs broker: SQS FIFO queues have no per-message delays; use a standard queue for delayed packages',
      );
    }
    if (delayMs > SQS_MAX_DELAY_MS) {
      throw new CapabilityError(
        `sqs broker: a delay of ${delayMs} ms exceeds SQS's maximum of ${SQS_MAX_DELAY_MS} ms (15 minutes); longer delays travel in hops`,
      );
    }
    return Math.ceil(delayMs / 1000);
  }

  private leaseSeconds(leaseMs: number): number {
    if (!(leaseMs > 0) || !Number.isFinite(leaseMs)) {
      throw new InvalidArgumentError(
        `sqs broker: leaseMs must be a positive number of milliseconds, got ${leaseMs}`,
      );
    }
    const seconds = Math.ceil(leaseMs / 1000);
    if (seconds > SQS_MAX_VISIBILITY_SECONDS) {
      throw new InvalidArgumentError(
        `sqs broker: a lease of ${leaseMs} ms exceeds SQS's longest visibility timeout of 12 hours`,
      );
    }
    return seconds;
  }

  private delivery(
    queue: string,
    names: SqsQueueNames,
    url: string,
    message: Message,
    leaseEndsAt: number,
  ): Delivery {
    const attributes = message.Attributes ?? {};
    const receipt = createReceipt({
      queueUrl: url,
      queueName: names.queue,
      deadLetterQueueName: names.deadLetter,
      receiptHandle: message.ReceiptHandle!,
      encodedBody: message.Body ?? '',
      ...(attributes.MessageGroupId !== undefined ? { messageGroupId: attributes.MessageGroupId } : {}),
      ...(message.MessageAttributes ? { labelAttributes: keptLabel(message.MessageAttributes) } : {}),
      leaseEndsAt,
    });
    this.leases.track(receipt);
    return {
      id: message.MessageId!,
      queue,
      body: decodeBody(message.Body ?? ''),
      deliveries: Number.parseInt(attributes.ApproximateReceiveCount ?? '1', 10) || 1,
      receipt,
    };
  }

  private beginSettle(delivery: Delivery, operation: string): SqsReceipt {
    this.checkOpen(operation);
    const receipt = receiptOf(delivery);
    this.leases.beginSettle(receipt, operation);
    return receipt;
  }

  private endSettleWithError(receipt: SqsReceipt, error: unknown): void {
    // A lost lease is gone for good; after any other failure the caller may settle again.
    this.leases.endSettle(receipt, error instanceof LeaseLostError ? 'settled' : 'held');
  }

  /**
   * Near or past the end of the lease, confirm it is still ours (ChangeMessageVisibility succeeds only
   * for the current receipt handle) and hold it long enough to finish. `always` confirms in every case.
   */
  private async confirmLease(receipt: SqsReceipt, operation: string, always = false): Promise<void> {
    if (!always && this.leases.leaseEndsAt(receipt) - Date.now() > LEASE_SAFETY_MARGIN_MS) return;
    await this.changeVisibility(receipt, SETTLE_LEASE_SECONDS, operation);
  }

  private async changeVisibility(receipt: SqsReceipt, seconds: number, operation: string): Promise<void> {
    const startedAt = Date.now();
    await this.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: receipt.queueUrl,
        ReceiptHandle: receipt.receiptHandle,
        VisibilityTimeout: seconds,
      }),
      { operation, queue: receipt.queueName },
    );
    this.leases.renewed(receipt, startedAt + seconds * 1000);
  }

  private checkOpen(operation: string): void {
    if (this.closed) {
      throw new BrokerError(`sqs broker: ${operation} after close()`, { code: 'BROKER_CLOSED' });
    }
  }
}

/** Labels are optional; when given, one per body, each with a job id and a task name. */
function checkLabels(labels: unknown, count: number): readonly PackageLabel[] | undefined {
  if (labels === undefined) return undefined;
  if (!Array.isArray(labels) || labels.length !== count) {
    throw new InvalidArgumentError('sqs broker: enqueue labels must be a list with one label per body');
  }
  for (const label of labels as PackageLabel[]) {
    if (typeof label?.jobId !== 'string' || typeof label.task !== 'string') {
      throw new InvalidArgumentError(
        'sqs broker: each enqueue label needs a jobId and a task name (strings)',
      );
    }
  }
  return labels as PackageLabel[];
}

/**
 * A label as message attributes. They fit in the room every message keeps free for dead-letter
 * attributes (values cut to LABEL_JOB_ID_BYTES and LABEL_TASK_BYTES), so a package that fits still fits.
 */
function labelAttributesOf(label: PackageLabel): Record<string, MessageAttributeValue> {
  const attributes: Record<string, MessageAttributeValue> = {
    [ATTRIBUTES.jobId]: { DataType: 'String', StringValue: attributeText(label.jobId, LABEL_JOB_ID_BYTES) },
    [ATTRIBUTES.task]: { DataType: 'String', StringValue: attributeText(label.task, LABEL_TASK_BYTES) },
  };
  if (label.expiresAt !== undefined && Number.isFinite(label.expiresAt)) {
    attributes[ATTRIBUTES.expiresAt] = { DataType: 'Number', StringValue: String(label.expiresAt) };
  }
  // SQS refuses an empty string attribute: a label with an empty job id or task goes without it.
  for (const [name, value] of Object.entries(attributes))
    if (value.StringValue === '') delete attributes[name];
  return attributes;
}

/** The label attributes of a received message. */
function keptLabel(attributes: Record<string, MessageAttributeValue>): Record<string, MessageAttributeValue> {
  const kept: Record<string, MessageAttributeValue> = {};
  for (const name of LABEL_ATTRIBUTES) {
    const value = attributes[name];
    if (value?.StringValue !== undefined)
      kept[name] = { DataType: value.DataType!, StringValue: value.StringValue };
  }
  return kept;
}
