import { randomUUID } from 'node:crypto';
import {
  BROKER_SPECIFICATION_VERSION,
  type Broker,
  type BrokerCapabilities,
  CapabilityError,
  type Delivery,
  type EnqueueOptions,
  InvalidArgumentError,
  type Logger,
  type PackageLabel,
  type QueueSize,
  type ReserveOptions,
  silentLogger,
} from '@tasq/core/backend';
import type { Channel, ChannelModel } from 'amqplib';
import { RabbitMqBrokerAdministration } from './rabbitmq-broker-administration.js';
import { RabbitConnection } from './rabbitmq-connection.js';
import { type ChannelLease, QueueConsumer, RabbitReceipt } from './rabbitmq-consumer.js';
import { alreadySettledLease, channelClosedLease, toTasqError } from './rabbitmq-errors.js';
import {
  type RabbitMqBrokerOptions,
  type ResolvedRabbitMqOptions,
  resolveOptions,
} from './rabbitmq-options.js';
import { ConfirmPublisher, type OutgoingMessage } from './rabbitmq-publisher.js';
import {
  checkQueueName,
  DELAY_LEVELS,
  deadQueueName,
  deadQueueOptions,
  delayExchangeName,
  delayLevels,
  delayQueueName,
  delayQueueOptions,
  delayQueuePattern,
  delayRoutingKey,
  deliverExchangeName,
  deliverPattern,
  HEADERS,
  MAX_DELAY_MS,
  MAX_REASON_CHARS,
  passOnPattern,
  type QueueShape,
  workQueueOptions,
} from './rabbitmq-topology.js';

export interface RabbitMqBrokerContext {
  /**
   * Deployment name (configuration `name`). Default `default`. Any other deployment declares its queues
   * and exchanges as `<name>/<queue>`, so deployments sharing a server (and vhost) stay apart; it also
   * appears in the default connection name.
   */
  deployment?: string;
  logger?: Logger;
}

/**
 * A tasq broker on RabbitMQ: durable queues, persistent messages, publisher confirms, manual acks,
 * one prefetching consumer per queue. Create it with {@link RabbitMqBroker.connect} (or the plugin's
 * `createBroker`), which opens the connection before returning.
 *
 * RabbitMQ has no visibility timeout: a delivery stays reserved while the channel that delivered it is
 * open, whatever `leaseMs` says, and returns to the queue when that channel closes (the process died,
 * the connection dropped, or the server's `consumer_timeout` — 30 min by default — ran out). So
 * `capabilities.receipts` and `capabilities.extend` are false.
 */
export class RabbitMqBroker implements Broker {
  readonly specificationVersion = BROKER_SPECIFICATION_VERSION;
  readonly name = 'rabbitmq';
  readonly capabilities: BrokerCapabilities;
  /**
   * Job administration: dead letters (list, requeue, delete, purge, trim). Ready messages cannot be
   * browsed, looked up or removed, and there are no pause flags or cancel marks (see README).
   */
  readonly administration: RabbitMqBrokerAdministration;
  /** The tasq queues this instance enqueued to, reserved from or administered: where ids are looked for. */
  private readonly usedQueues = new Set<string>();

  private readonly options: ResolvedRabbitMqOptions;
  private readonly logger: Logger;
  /** Publishing, declarations, counts and purges. */
  private readonly connection: RabbitConnection;
  /** Consumers only (see RabbitConnection on why two). */
  private readonly consumeConnection: RabbitConnection;
  private readonly publisher: ConfirmPublisher;
  private readonly consumers = new Map<string, QueueConsumer>();
  private readonly shape: QueueShape;
  /** Declarations done on the current connection; cleared on reconnect (cheap to repeat, and the server may have been reset). */
  private declared = new Map<string, Promise<void>>();
  private readonly everDeclared = new Set<string>();
  private adminChannelOpening: Promise<Channel> | undefined;
  private adminTail: Promise<void> = Promise.resolve();
  private closed = false;

  /** Resolve options, open the connection, and return the broker. Throws `BrokerConnectionError` if the server cannot be reached. */
  static async connect(
    options: RabbitMqBrokerOptions,
    context: RabbitMqBrokerContext = {},
  ): Promise<RabbitMqBroker> {
    const broker = new RabbitMqBroker(options, context);
    try {
      await broker.connection.start();
      await broker.consumeConnection.start();
    } catch (error) {
      await broker.close();
      throw error;
    }
    return broker;
  }

  private constructor(options: RabbitMqBrokerOptions, context: RabbitMqBrokerContext) {
    this.options = resolveOptions(options, context.deployment ?? 'default');
    this.logger = context.logger ?? silentLogger;
    this.shape = {
      queueType: this.options.queueType,
      maxPriority: this.options.maxPriority,
      deliveryLimit: this.options.deliveryLimit,
    };
    this.capabilities = Object.freeze({
      receipts: false,
      extend: false,
      delay: Object.freeze({ maxMs: MAX_DELAY_MS }),
      priority: this.options.queueType === 'classic' && this.options.maxPriority > 0,
      maxBatch: this.options.prefetch,
      fifo: true,
      maxPackageBytes: this.options.maxPackageBytes,
      // The plugin's createPubSub (RabbitMqPubSub) carries events and remote control.
      pubsub: true,
    });
    this.connection = new RabbitConnection(this.options, this.logger, 'publish');
    this.consumeConnection = new RabbitConnection(this.options, this.logger, 'consume');
    this.publisher = new ConfirmPublisher(this.connection);
    this.connection.on('connected', (_model, generation) => {
      if (generation === 1) return;
      this.declared = new Map();
      this.adminChannelOpening = undefined;
    });
    this.consumeConnection.on('connected', (_model, generation) => this.onConsumeReconnected(generation));
    this.administration = new RabbitMqBrokerAdministration({
      connection: this.connection,
      publisher: this.publisher,
      serverQueue: (queue) => this.serverQueue(queue),
      knownQueues: () => this.usedQueues,
      remember: (queue) => this.usedQueues.add(queue),
      checkOpen: () => this.checkOpen(),
    });
  }

  /** The client-provided connection name (before its `:publish` / `:consume` suffix). */
  get connectionName(): string {
    return this.options.connectionName;
  }

  /** Every queue this instance declared (work, dead and delay queues, by their names on the server), for cleanup tooling and tests. */
  get declaredQueues(): readonly string[] {
    return [...this.everDeclared];
  }

  /**
   * Store packages: one persistent message per body, published with confirms; resolves once the server
   * has every one. With `delayMs`, the packages go through the delay ladder first. On
   * `BrokerConnectionError` some packages may have been stored: retrying may store them twice.
   */
  async enqueue(
    queue: string,
    bodies: readonly Uint8Array[],
    options: EnqueueOptions = {},
  ): Promise<string[]> {
    this.checkOpen();
    checkQueueName(queue);
    const delayMs = this.checkDelay(options.delayMs);
    const priority = this.checkPriority(options.priority);
    const labels = checkLabels(options.labels, bodies.length);
    for (const body of bodies) {
      if (!(body instanceof Uint8Array)) throw new InvalidArgumentError('package bodies must be Uint8Array');
      if (body.byteLength > this.options.maxPackageBytes) {
        throw new InvalidArgumentError(
          `package of ${body.byteLength} bytes exceeds maxPackageBytes (${this.options.maxPackageBytes})`,
        );
      }
    }
    const context = `enqueue to "${queue}"`;
    const server = this.serverQueue(queue);
    await this.declareQueue(server, context);
    if (delayMs > 0) await this.declareDelayLadder(server, context);
    const ids: string[] = [];
    this.usedQueues.add(queue);
    const messages: OutgoingMessage[] = bodies.map((body, index) => {
      const id = randomUUID();
      ids.push(id);
      return this.message(server, toBuffer(body), {
        id,
        priority,
        delayMs,
        priorDeliveries: 0,
        labelHeaders: labels ? labelHeaders(labels[index] as PackageLabel) : undefined,
      });
    });
    try {
      await this.publisher.publish(messages, context);
    } catch (error) {
      // Someone deleted the queue (or a delay exchange, which closes the channel with 404) after we
      // declared it: declare again on the next call.
      if ((error as { code?: unknown }).code === 'BROKER_UNROUTABLE') this.forgetDeclarations(server);
      if (delayMs > 0) {
        this.forgetDeclarations(server);
        this.declared.delete('exchanges');
      }
      throw error;
    }
    return ids;
  }

  /**
   * Take up to `max` buffered deliveries of `queue`'s consumer, starting the consumer on first use.
   * `leaseMs` is not a timeout here: the delivery stays reserved until settled or until its channel closes.
   */
  async reserve(queue: string, options: ReserveOptions): Promise<Delivery[]> {
    checkQueueName(queue);
    const { max, waitMs } = options;
    if (!Number.isInteger(max) || max < 1 || max > this.capabilities.maxBatch) {
      throw new InvalidArgumentError(
        `max must be an integer from 1 to ${this.capabilities.maxBatch} (prefetch), got ${max}`,
      );
    }
    if (!(waitMs >= 0)) throw new InvalidArgumentError(`waitMs must be 0 or more, got ${waitMs}`);
    if (this.closed) return [];
    this.usedQueues.add(queue);
    let consumer = this.consumers.get(queue);
    if (!consumer) {
      consumer = new QueueConsumer(this.serverQueue(queue), {
        connection: this.consumeConnection,
        prefetch: this.options.prefetch,
        logger: this.logger,
        declare: (name) => this.declareQueue(name, `consume from "${queue}"`),
        toDelivery: (_name, receipt) => this.toDelivery(queue, receipt),
      });
      this.consumers.set(queue, consumer);
    }
    try {
      return await consumer.reserve(max, waitMs, options.signal);
    } catch (error) {
      // A close that lands while the consumer is still starting (declaring, opening its channel) ends
      // that start with a channel error: to the caller, a close simply ends the wait with nothing.
      if (this.closed) return [];
      throw error;
    }
  }

  /** Acknowledge: the server deletes the package. `LeaseLostError` if already settled or its channel closed. */
  async ack(delivery: Delivery): Promise<void> {
    const receipt = this.liveReceipt(delivery, 'ack');
    this.settle(delivery, receipt, (lease) => lease.ack(receipt.message.fields.deliveryTag));
  }

  /**
   * Give the package back. Quorum queues without delay: `basic.nack` with requeue (the server counts
   * the return in `x-delivery-count`). Otherwise the package is published again (to the queue, or to
   * the delay ladder) with its delivery count in a header, confirmed, and only then acked: a crash in
   * between leaves two copies, never none.
   */
  async release(delivery: Delivery, options: { delayMs?: number } = {}): Promise<void> {
    const receipt = this.liveReceipt(delivery, 'release');
    const delayMs = this.checkDelay(options.delayMs);
    if (delayMs === 0 && this.options.queueType === 'quorum') {
      this.settle(delivery, receipt, (lease) => lease.nack(receipt.message.fields.deliveryTag, true));
      return;
    }
    const context = `release to "${delivery.queue}"`;
    const properties = receipt.message.properties;
    const server = this.serverQueue(delivery.queue);
    await this.publishCopy(receipt, async () => {
      if (delayMs > 0) await this.declareDelayLadder(server, context);
      await this.publisher.publish(
        [
          this.message(server, receipt.message.content, {
            id: delivery.id,
            priority: typeof properties.priority === 'number' ? properties.priority : 0,
            delayMs,
            priorDeliveries: delivery.deliveries,
            labelHeaders: keptLabelHeaders(properties.headers),
          }),
        ],
        context,
      );
    });
    this.settle(delivery, this.liveReceipt(delivery, 'release'), (lease) =>
      lease.ack(receipt.message.fields.deliveryTag),
    );
  }

  /** Publish a settle's copy while the receipt refuses other settles; on failure it stays as it was. */
  private async publishCopy(receipt: RabbitReceipt, publish: () => Promise<void>): Promise<void> {
    receipt.settling = true;
    try {
      await publish();
    } finally {
      receipt.settling = false;
    }
  }

  /**
   * Move the package to `<queue>.dead` with `reason` in the `tasq-dead-reason` header (published with
   * confirm, then acked), where `size().dead` counts it.
   */
  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    const receipt = this.liveReceipt(delivery, 'deadLetter');
    const context = `dead-letter from "${delivery.queue}"`;
    const properties = receipt.message.properties;
    await this.publishCopy(receipt, () =>
      this.publisher.publish(
        [
          {
            exchange: '',
            routingKey: deadQueueName(this.serverQueue(delivery.queue)),
            content: receipt.message.content,
            properties: {
              persistent: true,
              messageId: delivery.id,
              timestamp: Math.floor(Date.now() / 1000),
              headers: {
                ...(properties.headers ?? {}),
                [HEADERS.priorDeliveries]: delivery.deliveries,
                [HEADERS.deadReason]: String(reason).slice(0, MAX_REASON_CHARS),
                [HEADERS.deadAt]: new Date().toISOString(),
                [HEADERS.deadFrom]: delivery.queue,
              },
            },
          },
        ],
        context,
      ),
    );
    this.settle(delivery, this.liveReceipt(delivery, 'deadLetter'), (lease) =>
      lease.ack(receipt.message.fields.deliveryTag),
    );
  }

  /** Not supported: RabbitMQ leases have no timeout to extend (see `capabilities.extend`). */
  async extend(_delivery: Delivery, _leaseMs: number): Promise<void> {
    throw new CapabilityError(
      'the rabbitmq broker cannot extend leases: a delivery stays reserved until settled or until its channel ' +
        'closes (or the server consumer_timeout passes), so there is no lease timeout to extend',
    );
  }

  /**
   * `ready`: messages the server holds ready, plus those this process's consumer has buffered and not
   * handed out. `delayed`: packages in the queue's delay ladder. `dead`: packages in `<queue>.dead`.
   * `reserved` is left out: AMQP does not report other consumers' unacknowledged deliveries.
   */
  async size(queue: string): Promise<QueueSize> {
    checkQueueName(queue);
    const context = `size of "${queue}"`;
    const server = this.serverQueue(queue);
    const ready = await this.countMessages(server, context);
    if (ready === undefined) return { ready: 0, delayed: 0, dead: 0 };
    const dead = (await this.countMessages(deadQueueName(server), context)) ?? 0;
    const ladder = await this.ladderQueues(server, context);
    const delayed = await Promise.all(ladder.map((name) => this.countMessages(name, context)));
    return {
      ready: ready + (this.consumers.get(queue)?.buffered ?? 0),
      delayed: delayed.reduce<number>((sum, count) => sum + (count ?? 0), 0),
      dead,
    };
  }

  /**
   * Delete the ready and delayed packages of `queue` (not the dead ones), including those this
   * process's consumer had buffered. Deliveries already handed out by `reserve` are not touched.
   */
  async purge(queue: string): Promise<number> {
    checkQueueName(queue);
    const context = `purge "${queue}"`;
    const server = this.serverQueue(queue);
    const names = [server, ...(await this.ladderQueues(server, context))];
    let removed = 0;
    for (const name of names) {
      removed += await this.withAdmin(context, async (channel) => {
        const reply = await channel.purgeQueue(name);
        return reply.messageCount;
      }).catch((error: unknown) => {
        if (isNotFound(error)) return 0;
        throw error;
      });
    }
    return removed + (this.consumers.get(queue)?.dropBuffered() ?? 0);
  }

  /**
   * Delete `queue` with its dead-letter queue and delay ladder, whatever they hold. Not part of the
   * broker contract: for operators and test cleanup. Returns how many messages were deleted.
   */
  async deleteQueue(queue: string): Promise<number> {
    checkQueueName(queue);
    const context = `delete "${queue}"`;
    await this.consumers.get(queue)?.stop();
    this.consumers.delete(queue);
    let removed = 0;
    const server = this.serverQueue(queue);
    const names = [
      server,
      deadQueueName(server),
      ...Array.from({ length: DELAY_LEVELS }, (_, l) => delayQueueName(server, l)),
    ];
    for (const name of names) {
      removed += await this.withAdmin(
        context,
        async (channel) => (await channel.deleteQueue(name)).messageCount,
      );
    }
    this.forgetDeclarations(server);
    return removed;
  }

  /** The server's name for a tasq queue: the queue itself, or `<deployment>/<queue>`. */
  serverQueue(queue: string): string {
    return this.options.namespace + queue;
  }

  /** Stop consumers (their unacked deliveries return to the queues) and close the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers.values()].map((consumer) => consumer.stop()));
    this.consumers.clear();
    await this.publisher.close();
    await Promise.all([this.connection.close(), this.consumeConnection.close()]);
  }

  private forgetDeclarations(queue: string): void {
    this.declared.delete(queue);
    this.declared.delete(`ladder:${queue}`);
  }

  private onConsumeReconnected(generation: number): void {
    if (generation === 1) return;
    for (const consumer of this.consumers.values()) {
      consumer.ensureStarted().catch((error: Error) => {
        this.logger.warn({ queue: consumer.queue, error: error.message }, 'rabbitmq consumer did not resume');
      });
    }
  }

  private message(
    queue: string,
    content: Buffer,
    fields: {
      id: string;
      priority: number;
      delayMs: number;
      priorDeliveries: number;
      /** The job's label as headers (job id, task, expiry), kept for dead-letter listings. */
      labelHeaders?: Record<string, unknown> | undefined;
    },
  ): OutgoingMessage {
    let headers: Record<string, unknown> | undefined =
      fields.priorDeliveries > 0 ? { [HEADERS.priorDeliveries]: fields.priorDeliveries } : undefined;
    if (fields.labelHeaders) headers = { ...headers, ...fields.labelHeaders };
    const properties: OutgoingMessage['properties'] = { persistent: true, messageId: fields.id };
    if (headers) properties.headers = headers;
    if (fields.priority > 0) properties.priority = fields.priority;
    if (fields.delayMs === 0) return { exchange: '', routingKey: queue, content, properties };
    const [top] = delayLevels(fields.delayMs);
    return {
      exchange: delayExchangeName(this.options.exchangePrefix, top!),
      routingKey: delayRoutingKey(queue, fields.delayMs),
      content,
      properties,
    };
  }

  private toDelivery(queue: string, receipt: RabbitReceipt): Delivery {
    const { message } = receipt;
    const headers = message.properties.headers ?? {};
    const prior = numberHeader(headers[HEADERS.priorDeliveries]);
    let thisLife: number;
    if (this.options.queueType === 'quorum') {
      // Quorum queues count returns exactly (nacks and closed channels); absent before the first return.
      thisLife = numberHeader(headers[HEADERS.quorumDeliveryCount]) + 1;
    } else {
      // Classic queues keep only a redelivered flag: at least the second delivery, possibly more.
      thisLife = message.fields.redelivered ? 2 : 1;
    }
    const id = typeof message.properties.messageId === 'string' ? message.properties.messageId : randomUUID();
    return {
      id,
      queue,
      body: new Uint8Array(message.content.buffer, message.content.byteOffset, message.content.byteLength),
      deliveries: prior + thisLife,
      receipt,
    };
  }

  private liveReceipt(delivery: Delivery, operation: string): RabbitReceipt {
    const receipt = delivery?.receipt;
    if (!(receipt instanceof RabbitReceipt)) {
      throw new InvalidArgumentError(
        `${operation} needs a delivery returned by this rabbitmq broker's reserve`,
      );
    }
    if (receipt.settled || receipt.settling) throw alreadySettledLease(operation, delivery.queue);
    if (!receipt.lease.open) throw channelClosedLease(operation, delivery.queue);
    return receipt;
  }

  private settle(delivery: Delivery, receipt: RabbitReceipt, action: (lease: ChannelLease) => void): void {
    try {
      action(receipt.lease);
    } catch (error) {
      // The channel closed between the check and the write (amqplib throws IllegalOperationError).
      if (!receipt.lease.open) throw channelClosedLease('settle', delivery.queue);
      throw toTasqError(error, `settle a delivery from "${delivery.queue}"`);
    }
    const consumer = this.consumers.get(delivery.queue);
    if (consumer) consumer.settled(receipt);
    else receipt.settled = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new InvalidArgumentError('the rabbitmq broker is closed');
  }

  private checkDelay(delayMs: number | undefined): number {
    if (delayMs === undefined || delayMs === 0) return 0;
    if (!Number.isFinite(delayMs) || delayMs < 0) {
      throw new InvalidArgumentError(`delayMs must be a number of milliseconds, 0 or more, got ${delayMs}`);
    }
    if (delayMs > MAX_DELAY_MS) {
      throw new CapabilityError(
        `delayMs ${delayMs} exceeds the rabbitmq broker's longest delay (${MAX_DELAY_MS} ms)`,
      );
    }
    // Round up: never deliver earlier than asked.
    return Math.ceil(delayMs);
  }

  private checkPriority(priority: number | undefined): number {
    if (priority === undefined || priority === 0) return 0;
    if (!this.capabilities.priority) {
      throw new CapabilityError(
        this.options.queueType === 'quorum'
          ? 'priorities need queueType "classic": RabbitMQ 3.x quorum queues have none'
          : 'priorities are off (maxPriority 0, the default): set maxPriority from 1 to 9 to declare priority queues',
      );
    }
    if (!Number.isInteger(priority) || priority < 0 || priority > 9) {
      throw new InvalidArgumentError(`priority must be an integer from 0 to 9, got ${priority}`);
    }
    return Math.min(priority, this.options.maxPriority);
  }

  private declareQueue(queue: string, context: string): Promise<void> {
    return this.once(queue, context, async (channel) => {
      await channel.assertQueue(queue, workQueueOptions(queue, this.shape));
      await channel.assertQueue(deadQueueName(queue), deadQueueOptions(this.shape));
      this.everDeclared.add(queue).add(deadQueueName(queue));
    });
  }

  /** The shared level exchanges, then this queue's level queues and bindings. */
  private async declareDelayLadder(queue: string, context: string): Promise<void> {
    const prefix = this.options.exchangePrefix;
    await this.once('exchanges', context, async (channel) => {
      const deliver = deliverExchangeName(prefix);
      await channel.assertExchange(deliver, 'topic', { durable: true });
      for (let level = 0; level < DELAY_LEVELS; level++) {
        await channel.assertExchange(delayExchangeName(prefix, level), 'topic', { durable: true });
      }
      for (let level = 0; level < DELAY_LEVELS; level++) {
        const next = level === 0 ? deliver : delayExchangeName(prefix, level - 1);
        await channel.bindExchange(next, delayExchangeName(prefix, level), passOnPattern(level));
      }
    });
    await this.once(`ladder:${queue}`, context, async (channel) => {
      await channel.bindQueue(queue, deliverExchangeName(prefix), deliverPattern(queue));
      for (let level = 0; level < DELAY_LEVELS; level++) {
        const name = delayQueueName(queue, level);
        await channel.assertQueue(name, delayQueueOptions(prefix, level));
        await channel.bindQueue(name, delayExchangeName(prefix, level), delayQueuePattern(queue, level));
        this.everDeclared.add(name);
      }
    });
  }

  /** The delay queues of `queue` that exist: all of them once its ladder was declared, none before. */
  private async ladderQueues(queue: string, context: string): Promise<string[]> {
    const top = delayQueueName(queue, DELAY_LEVELS - 1);
    const exists = (await this.countMessages(top, context)) !== undefined;
    return exists ? Array.from({ length: DELAY_LEVELS }, (_, level) => delayQueueName(queue, level)) : [];
  }

  /** Ready messages of a queue, or undefined when it does not exist. */
  private async countMessages(name: string, context: string): Promise<number | undefined> {
    try {
      return await this.withAdmin(context, async (channel) => (await channel.checkQueue(name)).messageCount);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Run a declaration once per connection; a failed one is tried again next time. */
  private once(key: string, context: string, declare: (channel: Channel) => Promise<void>): Promise<void> {
    let pending = this.declared.get(key);
    if (!pending) {
      pending = this.withAdmin(context, declare);
      this.declared.set(key, pending);
      pending.catch(() => {
        if (this.declared.get(key) === pending) this.declared.delete(key);
      });
    }
    return pending;
  }

  /**
   * Run `action` on the administration channel (declarations, counts, purges), one at a time: a refused
   * operation (404 on a missing queue, 406 on mismatched arguments) closes the channel on the server,
   * which would fail any other operation sharing it. The next action opens a new channel.
   */
  private withAdmin<T>(context: string, action: (channel: Channel) => Promise<T>): Promise<T> {
    const run = this.adminTail.then(async () => {
      let channel: Channel;
      try {
        channel = await this.adminChannel();
      } catch (error) {
        throw toTasqError(error, context);
      }
      try {
        return await action(channel);
      } catch (error) {
        if (this.adminChannelOpening && (await this.adminChannelOpening.catch(() => undefined)) === channel)
          this.adminChannelOpening = undefined;
        channel.close().catch(() => undefined);
        throw toTasqError(error, context);
      }
    });
    this.adminTail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private adminChannel(): Promise<Channel> {
    if (!this.adminChannelOpening) {
      const opening = (async () => {
        const { model }: { model: ChannelModel } = await this.connection.current();
        const channel = await model.createChannel();
        channel.on('error', () => undefined);
        channel.on('close', () => {
          if (this.adminChannelOpening === opening) this.adminChannelOpening = undefined;
        });
        return channel;
      })();
      this.adminChannelOpening = opening;
      opening.catch(() => {
        if (this.adminChannelOpening === opening) this.adminChannelOpening = undefined;
      });
    }
    return this.adminChannelOpening;
  }
}

/** Labels are optional; when given, one per body, each with a job id and a task name. */
function checkLabels(labels: unknown, count: number): readonly PackageLabel[] | undefined {
  if (labels === undefined) return undefined;
  if (!Array.isArray(labels) || labels.length !== count) {
    throw new InvalidArgumentError('enqueue labels must be a list with one label per body');
  }
  for (const label of labels as PackageLabel[]) {
    if (typeof label?.jobId !== 'string' || typeof label.task !== 'string') {
      throw new InvalidArgumentError('each enqueue label needs a jobId and a task name (strings)');
    }
  }
  return labels as PackageLabel[];
}

/** A label as message headers. */
function labelHeaders(label: PackageLabel): Record<string, unknown> {
  const headers: Record<string, unknown> = { [HEADERS.jobId]: label.jobId, [HEADERS.task]: label.task };
  if (label.expiresAt !== undefined) headers[HEADERS.expiresAt] = label.expiresAt;
  return headers;
}

/** The label headers of a message being published again (release), if it had them. */
function keptLabelHeaders(headers: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!headers || headers[HEADERS.jobId] === undefined) return undefined;
  const kept: Record<string, unknown> = {};
  for (const name of [HEADERS.jobId, HEADERS.task, HEADERS.expiresAt]) {
    if (headers[name] !== undefined) kept[name] = headers[name];
  }
  return kept;
}

function toBuffer(body: Uint8Array): Buffer {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function numberHeader(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'bigint') return Number(value);
  return 0;
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 'BROKER_NOT_FOUND';
}
