/**
 * Sends monitoring events in signed batches, off the task path. `push` only appends to a bounded buffer;
 * a timer publishes what accumulated, one publish at a time. When pub/sub is slower than the cluster the
 * buffer fills and further events are dropped and counted (`dropped`), never waited for: a cluster at
 * 2,000 jobs/s makes ~6,000 events/s, and no monitoring view is worth slowing that down.
 */
import type { Logger, PubSub, TasqEvent } from '@tasq/core';
import type { WireCodec } from './wire.js';

export interface EventPublisherOptions {
  pubsub: PubSub;
  codec: WireCodec;
  channel: string;
  logger: Logger;
  /** How often accumulated events go out. Default 200 ms. */
  flushMs?: number;
  /** Events held at most while pub/sub catches up; past it new events are dropped. Default 5,000. */
  maxBuffered?: number;
  /**
   * Messages per flush at most. With the default 200 ms flush this caps a cluster at 50 publishes a second,
   * which matters on PostgreSQL, where NOTIFY serializes commits with the broker's own. Default 10.
   */
  maxMessagesPerFlush?: number;
}

export interface PublisherCounters {
  /** Events handed to pub/sub. */
  published: number;
  /** Events dropped because the buffer was full, a publish failed, or one event was larger than a message. */
  dropped: number;
  /** Messages (batches) sent. */
  messages: number;
}

export class EventPublisher {
  readonly counters: PublisherCounters = { published: 0, dropped: 0, messages: 0 };
  private buffer: TasqEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private lastFailureLoggedAt = 0;
  private readonly flushMs: number;
  private readonly maxBuffered: number;
  private readonly maxMessagesPerFlush: number;

  constructor(private readonly options: EventPublisherOptions) {
    this.flushMs = options.flushMs ?? 200;
    this.maxBuffered = options.maxBuffered ?? 5_000;
    this.maxMessagesPerFlush = options.maxMessagesPerFlush ?? 10;
  }

  /** Queue an event; returns at once. */
  push(event: TasqEvent): void {
    if (this.closed) return;
    if (this.buffer.length >= this.maxBuffered) {
      this.counters.dropped++;
      return;
    }
    this.buffer.push(event);
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.flushMs);
      this.timer.unref();
    }
  }

  /** Publish what is buffered (up to maxMessagesPerFlush messages); one flush runs at a time. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = this.publishSome().finally(() => {
      this.flushing = undefined;
      if (this.buffer.length > 0 && !this.closed && !this.timer) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          void this.flush();
        }, this.flushMs);
        this.timer.unref();
      }
    });
    return this.flushing;
  }

  /** Publish everything still buffered (for up to `timeoutMs`), then stop accepting events. */
  async close(timeoutMs = 2_000): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = Date.now() + timeoutMs;
    while ((this.buffer.length > 0 || this.flushing) && Date.now() < deadline) {
      await Promise.race([this.flush(), sleep(Math.max(1, deadline - Date.now()))]);
    }
    this.closed = true;
    this.counters.dropped += this.buffer.length;
    this.buffer = [];
  }

  private async publishSome(): Promise<void> {
    const { pubsub, channel } = this.options;
    for (let sent = 0; sent < this.maxMessagesPerFlush && this.buffer.length > 0; sent++) {
      const { frame, count } = this.nextFrame(pubsub.maxMessageBytes);
      if (!frame) continue;
      try {
        await pubsub.publish(channel, frame);
        this.counters.published += count;
        this.counters.messages++;
      } catch (error) {
        this.counters.dropped += count;
        const now = Date.now();
        if (now - this.lastFailureLoggedAt > 10_000) {
          this.lastFailureLoggedAt = now;
          this.options.logger.warn(
            { channel, dropped: this.counters.dropped },
            `publishing monitoring events failed: ${(error as Error).message}`,
          );
        }
        return;
      }
    }
  }

  /** Take the longest prefix of the buffer that fits in one message (halving until it does). */
  private nextFrame(maxBytes: number): { frame?: Uint8Array; count: number } {
    const { codec } = this.options;
    let count = Math.min(this.buffer.length, 500);
    for (;;) {
      const frame = codec.encode({ kind: 'events', events: this.buffer.slice(0, count) });
      if (frame.byteLength <= maxBytes) {
        this.buffer.splice(0, count);
        return { frame, count };
      }
      if (count === 1) {
        // One event larger than a message (a very long error text): it cannot travel.
        this.buffer.splice(0, 1);
        this.counters.dropped++;
        return { count: 0 };
      }
      count = Math.max(1, Math.floor((count * maxBytes) / frame.byteLength / 1.05));
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
