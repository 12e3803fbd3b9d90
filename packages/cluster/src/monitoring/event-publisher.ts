/**
 * Sends monitoring events in signed batches, off the task path. `push` only appends to a bounded buffer;
 * a timer publishes what accumulated, one publish at a time, up to `maxEventsPerSecond`. Past that, or
 * when pub/sub is slower than the cluster, the buffer fills and further task events are dropped and
 * counted (`dropped`), never waited for: a cluster at 15,000 jobs/s makes 45,000 task events a second, and
 * no monitoring view is worth slowing that down (measured on SQLite, c=50: publishing them all cost 12% of
 * the throughput; with the default cap the difference is within the run-to-run noise). Cluster and worker
 * events (heartbeats, online, offline) have a buffer of their own and go out first, so a flood of task
 * events never hides a cluster; counters in the heartbeats keep rates exact when task events are dropped.
 */
import type { Logger, TasqEvent } from '@tasq/core';
import type { PubSub } from '@tasq/core/backend';
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
  /** Task events published per second at most; the rest are dropped and counted. Default 2,000. */
  maxEventsPerSecond?: number;
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
  /** Cluster and worker events: few, and what a monitor cannot do without. */
  private priority: TasqEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private lastFailureLoggedAt = 0;
  private readonly flushMs: number;
  private readonly maxBuffered: number;
  private readonly maxMessagesPerFlush: number;
  private readonly eventsPerFlush: number;

  constructor(private readonly options: EventPublisherOptions) {
    this.flushMs = options.flushMs ?? 200;
    this.maxBuffered = options.maxBuffered ?? 5_000;
    this.maxMessagesPerFlush = options.maxMessagesPerFlush ?? 10;
    this.eventsPerFlush = Math.max(
      1,
      Math.round(((options.maxEventsPerSecond ?? 2_000) * this.flushMs) / 1000),
    );
  }

  /** True while task events would be dropped: callers skip building them. */
  get full(): boolean {
    return this.buffer.length >= this.maxBuffered;
  }

  /** Count an event the caller did not build because the buffer was full. */
  countDropped(): void {
    this.counters.dropped++;
  }

  /** Queue an event; returns at once. */
  push(event: TasqEvent): void {
    if (this.closed) return;
    const queue = event.type.startsWith('task-') ? this.buffer : this.priority;
    if (queue.length >= this.maxBuffered) {
      this.counters.dropped++;
      return;
    }
    queue.push(event);
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
      if (this.pending() > 0 && !this.closed && !this.timer) {
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
    while ((this.pending() > 0 || this.flushing) && Date.now() < deadline) {
      await Promise.race([this.flush(), sleep(Math.max(1, deadline - Date.now()))]);
    }
    this.closed = true;
    this.counters.dropped += this.pending();
    this.buffer = [];
    this.priority = [];
  }

  private pending(): number {
    return this.buffer.length + this.priority.length;
  }

  private async publishSome(): Promise<void> {
    const { pubsub, channel } = this.options;
    let budget = this.eventsPerFlush;
    for (let sent = 0; sent < this.maxMessagesPerFlush && this.pending() > 0; sent++) {
      const queue = this.priority.length > 0 ? this.priority : this.buffer;
      if (queue === this.buffer && budget <= 0) break;
      const { frame, count } = this.nextFrame(
        queue,
        pubsub.maxMessageBytes,
        queue === this.buffer ? budget : 500,
      );
      if (queue === this.buffer) budget -= Math.max(1, count);
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

  /** Take the longest prefix of `queue` (at most `limit`) that fits in one message. */
  private nextFrame(
    queue: TasqEvent[],
    maxBytes: number,
    limit: number,
  ): { frame?: Uint8Array; count: number } {
    const { codec } = this.options;
    let count = Math.min(queue.length, limit, 500);
    for (;;) {
      const frame = codec.encode({ kind: 'events', events: queue.slice(0, count) });
      if (frame.byteLength <= maxBytes) {
        queue.splice(0, count);
        return { frame, count };
      }
      if (count === 1) {
        // One event larger than a message (a very long error text): it cannot travel.
        queue.splice(0, 1);
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
