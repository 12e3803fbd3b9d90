/**
 * The publisher never makes the cluster wait: while pub/sub is stalled, events beyond the buffer are
 * dropped and counted; once it answers, what was kept goes out in order, in messages that fit the
 * server's size limit (here 2,000 bytes, as small as PostgreSQL's NOTIFY would force).
 */
import { silentLogger, type TasqEvent } from '@tasq/core';
import { MemoryPubSub, MemoryPubSubHub } from '@tasq/core/backend';
import { describe, expect, it } from 'vitest';
import { EventPublisher } from './event-publisher.js';
import { WireCodec } from './wire.js';

/** Core's in-process pub/sub with a small message limit and a publish that waits for a gate. */
class StalledPubSub extends MemoryPubSub {
  override readonly maxMessageBytes = 2_000;
  open!: () => void;
  private readonly gate = new Promise<void>((resolve) => {
    this.open = resolve;
  });
  override async publish(channel: string, message: Uint8Array): Promise<void> {
    await this.gate;
    return super.publish(channel, message);
  }
}

const event = (i: number): TasqEvent => ({
  type: 'task-succeeded',
  at: 1_700_000_000_000 + i,
  cluster: 'default@host:1',
  jobId: `job-${i}`,
  name: 'reports.build',
  queue: 'reports',
  attempt: 1,
  runtimeMs: i,
});

describe('EventPublisher', () => {
  it('drops and counts what does not fit while pub/sub is stalled, then sends the rest in order', async () => {
    const hub = new MemoryPubSubHub();
    const pubsub = new StalledPubSub({ hub });
    const reader = new MemoryPubSub({ hub });
    const codec = new WireCodec(['secret']);
    const received: TasqEvent[] = [];
    const sizes: number[] = [];
    await reader.subscribe('events', (bytes) => {
      sizes.push(bytes.byteLength);
      const message = codec.decode(bytes);
      if (message?.kind === 'events') received.push(...message.events);
    });
    const publisher = new EventPublisher({
      pubsub,
      codec,
      channel: 'events',
      logger: silentLogger,
      flushMs: 5,
      maxBuffered: 50,
    });

    publisher.push(event(0));
    await new Promise((resolve) => setTimeout(resolve, 20)); // the first flush is now stuck in publish
    for (let i = 1; i < 200; i++) publisher.push(event(i));
    // Event 0 is in the stalled publish; 1-50 fill the buffer; 51-199 are dropped.
    expect(publisher.counters.dropped).toBe(149);

    pubsub.open();
    await publisher.close();
    expect(received.map((e) => (e as { jobId: string }).jobId)).toEqual(
      Array.from({ length: 51 }, (_, i) => `job-${i}`),
    );
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2_000);
    expect(sizes.length).toBeGreaterThan(1);
    expect(publisher.counters).toMatchObject({ published: 51, dropped: 149 });
  });
});
