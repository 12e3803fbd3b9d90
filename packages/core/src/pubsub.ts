/**
 * The pub/sub contract: fire-and-forget messages on named channels, for monitoring events and remote
 * control. Delivery is at most once and only to subscribers connected at the time: nothing here is
 * durable, which is why jobs never travel this way. A broker package offers it through its plugin's
 * `createPubSub` where the server has something fitting (Redis PUBLISH, a RabbitMQ fanout exchange,
 * PostgreSQL NOTIFY).
 */

export interface Subscription {
  /** Stop receiving. Idempotent. */
  unsubscribe(): Promise<void>;
}

export interface PubSub {
  readonly name: string;
  /** Largest message `publish` accepts, in bytes (PostgreSQL NOTIFY: under 8000). */
  readonly maxMessageBytes: number;
  /** Send `message` to every current subscriber of `channel` (this client's own included). */
  publish(channel: string, message: Uint8Array): Promise<void>;
  /**
   * Call `onMessage` for each message published on `channel` from now on, in publish order per publisher.
   * A subscription survives reconnects (messages published while disconnected are lost); a subscribe
   * made while the server is unreachable rejects with BrokerConnectionError and is not retried later.
   */
  subscribe(channel: string, onMessage: (message: Uint8Array) => void): Promise<Subscription>;
  /** End every subscription and release connections. Idempotent. */
  close(): Promise<void>;
}
