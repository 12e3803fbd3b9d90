/**
 * Pub/sub for monitoring events and remote control, over one durable direct exchange,
 * `<exchangePrefix>.pubsub`: a pub/sub channel is a routing key, and each subscription is an
 * exclusive, auto-deleted, server-named queue bound to it and consumed without acks. Nothing is
 * persistent: a message reaches the subscriptions that exist when it is published, at most once, which
 * is what the contract asks (jobs never travel this way). A direct exchange rather than a fanout per
 * channel: one object on the server, and routing by channel is done by RabbitMQ instead of by every
 * subscriber.
 *
 * After a reconnection the subscriptions are made again (their queues went with the old connection);
 * what was published in between is lost, as the contract allows.
 */
import {
  InvalidArgumentError,
  type Logger,
  type PubSub,
  type Subscription,
  silentLogger,
} from '@tasq/core/backend';
import type { Channel } from 'amqplib';
import { RabbitConnection } from './rabbitmq-connection.js';
import { toTasqError } from './rabbitmq-errors.js';
import {
  type RabbitMqBrokerOptions,
  type ResolvedRabbitMqOptions,
  resolveOptions,
} from './rabbitmq-options.js';

/** Events and control messages are small; 1 MiB leaves room without letting one message block a queue. */
const MAX_MESSAGE_BYTES = 1024 * 1024;
/** AMQP routing keys are at most 255 bytes. */
const MAX_CHANNEL_BYTES = 255;
/** Reopening the channel after the server closed it waits this long first. */
const REOPEN_DELAY_MS = 250;

interface ActiveSubscription {
  readonly channel: string;
  readonly onMessage: (message: Uint8Array) => void;
  /** The AMQP channel it is (being) attached to; a reopen attaches only what is not on the current one. */
  attachedTo: Channel | undefined;
  consumerTag: string | undefined;
  queue: string | undefined;
  active: boolean;
}

export class RabbitMqPubSub implements PubSub {
  readonly name = 'rabbitmq';
  readonly maxMessageBytes = MAX_MESSAGE_BYTES;

  private readonly options: ResolvedRabbitMqOptions;
  private readonly logger: Logger;
  private readonly connection: RabbitConnection;
  private readonly exchange: string;
  private readonly subscriptions = new Set<ActiveSubscription>();
  private channel: Promise<Channel> | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;
  private closed = false;

  /** Resolve options (the broker's), open the connection, and return the pub/sub. */
  static async connect(
    options: RabbitMqBrokerOptions,
    context: { deployment?: string; logger?: Logger } = {},
  ): Promise<RabbitMqPubSub> {
    const pubsub = new RabbitMqPubSub(options, context);
    await pubsub.connection.start();
    return pubsub;
  }

  private constructor(options: RabbitMqBrokerOptions, context: { deployment?: string; logger?: Logger }) {
    this.options = resolveOptions(options, context.deployment ?? 'default');
    this.logger = context.logger ?? silentLogger;
    this.exchange = `${this.options.exchangePrefix}.pubsub`;
    this.connection = new RabbitConnection(this.options, this.logger, 'pubsub');
    this.connection.on('connected', (_model, generation) => {
      if (generation > 1) this.reopen();
    });
  }

  /** Route `message` to every subscription of `channel` that exists now. Not confirmed: at most once. */
  async publish(channel: string, message: Uint8Array): Promise<void> {
    checkChannel(channel);
    if (!(message instanceof Uint8Array))
      throw new InvalidArgumentError('pub/sub messages must be Uint8Array');
    if (message.byteLength > this.maxMessageBytes) {
      throw new InvalidArgumentError(
        `pub/sub message of ${message.byteLength} bytes exceeds maxMessageBytes (${this.maxMessageBytes})`,
      );
    }
    if (this.closed) throw new InvalidArgumentError('the rabbitmq pub/sub is closed');
    const amqp = await this.open(`publish on "${channel}"`);
    try {
      amqp.publish(
        this.exchange,
        channel,
        Buffer.from(message.buffer, message.byteOffset, message.byteLength),
        {
          persistent: false,
        },
      );
    } catch (error) {
      throw toTasqError(error, `publish on "${channel}"`);
    }
  }

  /** Receive what is published on `channel` from now on (resolves once the server routes it to us). */
  async subscribe(channel: string, onMessage: (message: Uint8Array) => void): Promise<Subscription> {
    checkChannel(channel);
    if (typeof onMessage !== 'function')
      throw new InvalidArgumentError('subscribe needs an onMessage function');
    if (this.closed) throw new InvalidArgumentError('the rabbitmq pub/sub is closed');
    const subscription: ActiveSubscription = {
      channel,
      onMessage,
      attachedTo: undefined,
      consumerTag: undefined,
      queue: undefined,
      active: true,
    };
    this.subscriptions.add(subscription);
    try {
      await this.attach(subscription, await this.open(`subscribe to "${channel}"`));
    } catch (error) {
      this.subscriptions.delete(subscription);
      throw toTasqError(error, `subscribe to "${channel}"`);
    }
    return { unsubscribe: () => this.detach(subscription) };
  }

  /** End every subscription and close the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reopenTimer);
    for (const subscription of this.subscriptions) subscription.active = false;
    this.subscriptions.clear();
    await this.connection.close();
  }

  private async attach(subscription: ActiveSubscription, amqp: Channel): Promise<void> {
    subscription.attachedTo = amqp;
    const { queue } = await amqp.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await amqp.bindQueue(queue, this.exchange, subscription.channel);
    const { consumerTag } = await amqp.consume(
      queue,
      (message) => {
        if (!message || !subscription.active) return;
        try {
          subscription.onMessage(
            new Uint8Array(message.content.buffer, message.content.byteOffset, message.content.byteLength),
          );
        } catch (error) {
          this.logger.warn(
            { channel: subscription.channel, error: (error as Error).message },
            'a pub/sub subscriber threw; the message is dropped for it',
          );
        }
      },
      { noAck: true },
    );
    subscription.queue = queue;
    subscription.consumerTag = consumerTag;
  }

  private async detach(subscription: ActiveSubscription): Promise<void> {
    if (!subscription.active) return;
    subscription.active = false;
    this.subscriptions.delete(subscription);
    const { consumerTag } = subscription;
    subscription.consumerTag = undefined;
    const amqp = await this.channel?.catch(() => undefined);
    // Cancelling deletes the auto-delete queue; if the channel is gone, so is the queue.
    if (amqp && consumerTag) await amqp.cancel(consumerTag).catch(() => undefined);
  }

  private open(context: string): Promise<Channel> {
    if (!this.channel) {
      const opening = (async () => {
        const { model } = await this.connection.current();
        const amqp = await model.createChannel();
        amqp.on('error', (error: Error) => {
          this.logger.warn({ error: error.message }, 'rabbitmq pub/sub channel error');
        });
        amqp.on('close', () => {
          if (this.channel !== opening) return;
          this.channel = undefined;
          // A channel closed on a live connection (an error) is reopened here; after a lost connection,
          // the reconnection reopens it.
          if (!this.closed && this.connection.currentGeneration() !== undefined) this.scheduleReopen();
        });
        await amqp.assertExchange(this.exchange, 'direct', { durable: true });
        return amqp;
      })();
      this.channel = opening;
      opening.catch(() => {
        if (this.channel === opening) this.channel = undefined;
      });
    }
    return this.channel.catch((error: unknown) => {
      throw toTasqError(error, context);
    });
  }

  private scheduleReopen(): void {
    if (this.reopenTimer) return;
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      this.reopen();
    }, REOPEN_DELAY_MS);
  }

  /**
   * Attach every subscription that is not on the current channel (opening one if the old one closed).
   * Idempotent: running it twice never subscribes anything twice on a live channel.
   */
  private reopen(): void {
    if (this.closed) return;
    clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    void (async () => {
      try {
        const amqp = await this.open('resubscribe');
        for (const subscription of this.subscriptions) {
          if (subscription.active && subscription.attachedTo !== amqp) await this.attach(subscription, amqp);
        }
      } catch (error) {
        this.logger.warn(
          { error: (error as Error).message },
          'rabbitmq pub/sub could not resubscribe; retrying',
        );
        this.scheduleReopen();
      }
    })();
  }
}

function checkChannel(channel: string): void {
  if (typeof channel !== 'string' || channel.length === 0 || Buffer.byteLength(channel) > MAX_CHANNEL_BYTES) {
    throw new InvalidArgumentError(
      `pub/sub channel must be a non-empty string of at most ${MAX_CHANNEL_BYTES} bytes`,
    );
  }
}
