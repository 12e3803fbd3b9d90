/**
 * Pub/sub over PostgreSQL NOTIFY, for monitoring events and remote control: at most once, to the
 * sessions listening at the time, nothing stored. Each pub/sub channel is its own NOTIFY channel (so a
 * subscriber only receives what it asked for), listened to on the process's shared LISTEN connection.
 */
import { InvalidArgumentError, type PubSub, type Subscription } from '@tasq/core/backend';
import { mapDatabaseError } from '../orm-errors.js';
import type { PostgresDialect } from './postgres-dialect.js';

/**
 * NOTIFY payloads must stay under 8,000 bytes, and a message travels as base64 text (4 characters per
 * 3 bytes): 1,999 groups of 4 characters = 7,996 bytes hold 5,997 bytes of message.
 */
export const postgresMaxMessageBytes = 5_997;

export class PostgresPubSub implements PubSub {
  readonly name = 'postgres';
  readonly maxMessageBytes = postgresMaxMessageBytes;
  private readonly subscriptions = new Set<() => Promise<void>>();
  /** Publishes go out one after another, so one publisher's messages arrive in order. */
  private publishing: Promise<unknown> = Promise.resolve();
  private closed: Promise<void> | undefined;

  constructor(private readonly dialect: PostgresDialect) {}

  /** Send `message` to every current subscriber of `channel`, this client's own included. */
  async publish(channel: string, message: Uint8Array): Promise<void> {
    this.check(channel);
    if (!(message instanceof Uint8Array))
      throw new InvalidArgumentError('a pub/sub message must be a Uint8Array');
    if (message.byteLength > postgresMaxMessageBytes) {
      throw new InvalidArgumentError(
        `pub/sub message of ${message.byteLength} bytes exceeds the PostgreSQL limit of ${postgresMaxMessageBytes} bytes (NOTIFY payloads stay under 8000 bytes)`,
      );
    }
    const payload = Buffer.from(message.buffer, message.byteOffset, message.byteLength).toString('base64');
    const sent = this.publishing.then(() =>
      this.dialect
        .execute('publish', { channel: this.dialect.names.pubSubChannel(channel), payload })
        .then(() => undefined),
    );
    this.publishing = sent.catch(() => undefined);
    try {
      await sent;
    } catch (error) {
      throw mapDatabaseError(error, `publish on channel "${channel}"`, this.dialect.address);
    }
  }

  /** Call `onMessage` for each message published on `channel` from now on. */
  async subscribe(channel: string, onMessage: (message: Uint8Array) => void): Promise<Subscription> {
    this.check(channel);
    let stop: () => Promise<void>;
    try {
      stop = await this.dialect.listen(this.dialect.names.pubSubChannel(channel), (payload) => {
        const bytes = Buffer.from(payload, 'base64');
        onMessage(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      });
    } catch (error) {
      throw mapDatabaseError(error, `subscribe to channel "${channel}"`, this.dialect.address);
    }
    let ended: Promise<void> | undefined;
    const unsubscribe = () => {
      ended ??= (async () => {
        this.subscriptions.delete(unsubscribe);
        await stop();
      })();
      return ended;
    };
    this.subscriptions.add(unsubscribe);
    return { unsubscribe };
  }

  /** End every subscription and release the connection. Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      await Promise.all([...this.subscriptions].map((unsubscribe) => unsubscribe()));
      await this.publishing;
      await this.dialect.release();
    })();
    return this.closed;
  }

  private check(channel: string): void {
    if (this.closed) throw new InvalidArgumentError('the postgres pub/sub is closed');
    if (typeof channel !== 'string' || channel.length === 0) {
      throw new InvalidArgumentError('a pub/sub channel must be a non-empty string');
    }
  }
}
