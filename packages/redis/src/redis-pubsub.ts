import {
  InvalidArgumentError,
  type Logger,
  type PubSub,
  type Subscription,
  silentLogger,
} from '@tasq/core/backend';
import { Cluster } from 'ioredis';
import {
  closeClient,
  duplicateClient,
  openClient,
  type RedisClient,
  type RedisConnectionOptions,
} from './redis-connection.js';
import { mapRedisError, type RedisCall, redisCallsThrough } from './redis-errors.js';
import { deploymentPrefix, pubSubChannel } from './redis-keys.js';
import { runScript } from './redis-scripts.js';
import { asBuffer } from './redis-validation.js';

/** Options of {@link RedisPubSub}: the broker's connection options, and where to log. */
export interface RedisPubSubOptions extends RedisConnectionOptions {
  logger?: Logger;
}

/**
 * Largest message accepted. Redis takes up to 512 MiB per bulk string, but every subscriber connection
 * has an output buffer limit (`client-output-buffer-limit pubsub 32mb 8mb 60` by default): a subscriber
 * that falls 32 MiB behind is disconnected by the server. Events and control messages are a few hundred
 * bytes; 1 MiB leaves room for a stats reply while 32 such messages still fit in that buffer.
 */
const MAX_MESSAGE_BYTES = 1024 * 1024;
/** Longest channel name accepted, in bytes (before the prefix). */
const MAX_CHANNEL_BYTES = 1024;

/** One `subscribe` call's handler. */
interface Listener {
  readonly onMessage: (message: Uint8Array) => void;
  active: boolean;
}

/** The listeners of one Redis channel, which is subscribed while there is at least one. */
interface ChannelState {
  readonly listeners: Set<Listener>;
  /** The SUBSCRIBE that made the channel live; every listener that joins waits for it. */
  readonly subscribed: Promise<void>;
}

/**
 * Pub/sub on Redis PUBLISH / SUBSCRIBE, for monitoring events and remote control. Publishing uses the
 * command connection; all subscriptions of one instance share one subscriber connection (a connection in
 * subscriber mode can run nothing else), which SUBSCRIBEs a channel for its first listener and
 * UNSUBSCRIBEs it after its last. Messages are bytes end to end (ioredis's Buffer events).
 *
 * Delivery is at most once, as the contract says: Redis keeps nothing for a subscriber that is not
 * connected. After the subscriber connection comes back, every channel with listeners is subscribed
 * again (see {@link RedisPubSub.resubscribe}); what was published in between is lost.
 *
 * Channel names are prefixed like every key of the package (`<prefix>:pubsub:<channel>`), so
 * deployments with different prefixes on one server do not hear each other.
 */
export class RedisPubSub implements PubSub {
  readonly name = 'redis';
  /** 1 MiB: see the note on subscriber output buffers in README.md ("Pub/sub"). */
  readonly maxMessageBytes = MAX_MESSAGE_BYTES;
  /** The key prefix of this deployment; channels are `<prefix>:pubsub:<channel>`. */
  readonly prefix: string;
  private readonly client: RedisClient;
  private readonly withErrors: RedisCall;
  private readonly ownsClient: boolean;
  private readonly logger: Logger;
  private subscriber: RedisClient | undefined;
  /** Listeners by full Redis channel name. */
  private readonly channels = new Map<string, ChannelState>();
  private closed = false;

  /** Opens (or adopts) the client described by `options`; throws `InvalidArgumentError` for bad options. */
  constructor(options: RedisPubSubOptions = {}) {
    this.prefix = deploymentPrefix(options.prefix, options.deployment);
    this.logger = options.logger ?? silentLogger;
    const { client, owned } = openClient(options, this.logger, 'redis pub/sub connection');
    this.client = client;
    this.withErrors = redisCallsThrough(client);
    this.ownsClient = owned;
  }

  /**
   * PUBLISH `message` on `channel` (one round trip). Reaches the subscribers connected now, this
   * instance's own included; at most once. Throws `InvalidArgumentError` for a bad channel or a message
   * over {@link maxMessageBytes} (before any network call), `BrokerConnectionError` when Redis cannot be
   * reached.
   */
  async publish(channel: string, message: Uint8Array): Promise<void> {
    this.checkOpen();
    const redisChannel = this.redisChannel(channel);
    if (!(message instanceof Uint8Array)) {
      throw new InvalidArgumentError(`pub/sub message must be a Uint8Array, got ${typeof message}`);
    }
    if (message.byteLength > this.maxMessageBytes) {
      throw new InvalidArgumentError(
        `pub/sub message of ${message.byteLength} bytes on channel "${channel}" exceeds the redis limit of ${this.maxMessageBytes} bytes (maxMessageBytes); send a reference to larger data instead`,
      );
    }
    const bytes = asBuffer(message);
    await this.withErrors(`pub/sub publish on "${channel}"`, () =>
      // On a Cluster, a plain PUBLISH goes to a random primary each time, which can reorder one
      // publisher's messages; the script is routed by the channel's slot (see lua/publish.lua).
      this.client instanceof Cluster
        ? runScript(this.client, 'tasqPublish', redisChannel, bytes)
        : this.client.publish(redisChannel, bytes),
    );
  }

  /**
   * Call `onMessage` with every message published on `channel` from the moment this resolves (the server
   * has acknowledged the SUBSCRIBE, or the channel was already subscribed for another listener). Messages
   * of one publisher arrive in publish order. A listener that throws is logged and does not affect the
   * others. Throws `BrokerConnectionError` when the subscription could not be made.
   */
  async subscribe(channel: string, onMessage: (message: Uint8Array) => void): Promise<Subscription> {
    this.checkOpen();
    const redisChannel = this.redisChannel(channel);
    if (typeof onMessage !== 'function') {
      throw new InvalidArgumentError('pub/sub subscribe needs an onMessage function');
    }
    let state = this.channels.get(redisChannel);
    if (!state) {
      const subscriber = this.subscriberConnection();
      state = {
        listeners: new Set(),
        subscribed: subscriber.subscribe(redisChannel).then(() => undefined),
      };
      this.channels.set(redisChannel, state);
    }
    const listener: Listener = { onMessage, active: true };
    state.listeners.add(listener);
    try {
      await state.subscribed;
    } catch (error) {
      listener.active = false;
      state.listeners.delete(listener);
      // The channel never became live: forget it, so a reconnect does not subscribe it behind our back.
      if (this.channels.get(redisChannel) === state) this.channels.delete(redisChannel);
      this.checkOpen();
      throw mapRedisError(error, `pub/sub subscribe to "${channel}"`, this.client);
    }
    if (!listener.active) this.checkOpen();
    const current = state;
    return { unsubscribe: () => this.removeListener(redisChannel, current, listener) };
  }

  /** End every subscription and close the connections this instance opened (never a client it was given). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const state of this.channels.values()) {
      for (const listener of state.listeners) listener.active = false;
    }
    this.channels.clear();
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    if (subscriber) await closeClient(subscriber);
    if (this.ownsClient) await closeClient(this.client);
  }

  /** Stop one listener; after the channel's last one, UNSUBSCRIBE. Idempotent, never throws. */
  private async removeListener(redisChannel: string, state: ChannelState, listener: Listener): Promise<void> {
    if (!listener.active) return;
    listener.active = false;
    state.listeners.delete(listener);
    if (state.listeners.size > 0 || this.closed) return;
    if (this.channels.get(redisChannel) === state) this.channels.delete(redisChannel);
    // A subscribe for the same channel made after this point sends its SUBSCRIBE after this UNSUBSCRIBE on
    // the same connection, so Redis applies them in that order and the new listener is not cut off.
    try {
      await this.subscriber?.unsubscribe(redisChannel);
    } catch (error) {
      // The connection is down: the channel is no longer in `channels`, so it is not subscribed again
      // on reconnect, and nothing reaches the listener, which is inactive.
      this.logger.debug(
        { channel: redisChannel, error: (error as Error).message },
        'redis pub/sub unsubscribe not sent',
      );
    }
  }

  private subscriberConnection(): RedisClient {
    if (this.subscriber) return this.subscriber;
    // ioredis's own `autoResubscribe` re-subscribes what the server had acknowledged before the drop,
    // which includes a channel whose UNSUBSCRIBE was still in flight, and leaves the promise of that
    // SUBSCRIBE without a handler (an unhandled rejection if the connection drops again at once). The
    // listener map is the truth here, so this class re-subscribes from it instead. A Cluster client's
    // subscriber re-subscribes on a node change by itself; the extra SUBSCRIBE on 'ready' is harmless.
    const subscriber = duplicateClient(
      this.client,
      'tasq-pubsub',
      this.client instanceof Cluster ? {} : { autoResubscribe: false },
    );
    subscriber.on('error', (error: Error) =>
      this.logger.debug({ error: error.message }, 'redis pub/sub subscriber error'),
    );
    subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) =>
      this.deliver(channel.toString(), message),
    );
    let connectedBefore = false;
    subscriber.on('ready', () => {
      if (!connectedBefore) {
        // The first SUBSCRIBEs wait in the offline queue and go out now.
        connectedBefore = true;
        return;
      }
      this.resubscribe(subscriber);
    });
    this.subscriber = subscriber;
    return subscriber;
  }

  /**
   * After a reconnect: SUBSCRIBE every channel that has listeners, in one command. If it fails because
   * the connection dropped again, the next 'ready' runs it again.
   */
  private resubscribe(subscriber: RedisClient): void {
    if (this.closed || this.subscriber !== subscriber) return;
    const channels = [...this.channels.keys()];
    if (channels.length === 0) return;
    subscriber.subscribe(...channels).then(
      () =>
        this.logger.debug({ channels: channels.length }, 'redis pub/sub subscribed again after reconnect'),
      (error: Error) =>
        this.logger.warn(
          { channels: channels.length, error: error.message },
          'redis pub/sub could not subscribe again after reconnect; retrying on the next reconnect',
        ),
    );
  }

  private deliver(redisChannel: string, message: Buffer): void {
    const state = this.channels.get(redisChannel);
    if (!state) return;
    for (const listener of state.listeners) {
      if (!listener.active) continue;
      try {
        listener.onMessage(message);
      } catch (error) {
        this.logger.warn(
          { channel: redisChannel, error: (error as Error)?.message ?? String(error) },
          'a pub/sub listener threw; the message is dropped for it',
        );
      }
    }
  }

  private redisChannel(channel: string): string {
    if (typeof channel !== 'string' || channel.length === 0) {
      throw new InvalidArgumentError('pub/sub channel must be a non-empty string');
    }
    if (Buffer.byteLength(channel) > MAX_CHANNEL_BYTES) {
      throw new InvalidArgumentError(
        `pub/sub channel is ${Buffer.byteLength(channel)} bytes long; the limit is ${MAX_CHANNEL_BYTES}`,
      );
    }
    // A lone surrogate would not survive the UTF-8 round trip, and messages would never find their listener.
    if (!(channel as string & { isWellFormed(): boolean }).isWellFormed()) {
      throw new InvalidArgumentError('pub/sub channel must be well-formed Unicode (no lone surrogates)');
    }
    return pubSubChannel(this.prefix, channel);
  }

  private checkOpen(): void {
    if (this.closed) throw new InvalidArgumentError('the Redis pub/sub is closed');
  }
}
