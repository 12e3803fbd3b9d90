/** Pub/sub within one process: for tests and single-process deployments. */
import { InvalidArgumentError } from '../errors.js';
import type { PubSub, Subscription } from '../pubsub.js';

/** Shared state: several MemoryPubSub instances over one hub behave like clients of one server. */
export class MemoryPubSubHub {
  readonly channels = new Map<string, Set<(message: Uint8Array) => void>>();
}

export class MemoryPubSub implements PubSub {
  readonly name = 'memory';
  readonly maxMessageBytes = 1024 * 1024;
  private readonly hub: MemoryPubSubHub;
  private readonly own = new Set<Subscription>();

  constructor(options: { hub?: MemoryPubSubHub } = {}) {
    this.hub = options.hub ?? new MemoryPubSubHub();
  }

  async publish(channel: string, message: Uint8Array): Promise<void> {
    if (message.byteLength > this.maxMessageBytes) {
      throw new InvalidArgumentError(
        `message of ${message.byteLength} bytes exceeds ${this.maxMessageBytes}`,
      );
    }
    for (const listener of [...(this.hub.channels.get(channel) ?? [])]) {
      // Deliver asynchronously, as a server would: a subscriber never runs inside publish.
      queueMicrotask(() => listener(message.slice()));
    }
  }

  async subscribe(channel: string, onMessage: (message: Uint8Array) => void): Promise<Subscription> {
    const listeners = this.hub.channels.get(channel) ?? new Set();
    this.hub.channels.set(channel, listeners);
    listeners.add(onMessage);
    const subscription: Subscription = {
      unsubscribe: async () => {
        listeners.delete(onMessage);
        this.own.delete(subscription);
      },
    };
    this.own.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    for (const subscription of [...this.own]) await subscription.unsubscribe();
  }
}
