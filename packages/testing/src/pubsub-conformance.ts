/**
 * The pub/sub contract, executable:
 *
 *   pubSubConformance('redis', () => createRedisPubSub(options));
 *
 * Every instance the factory returns must reach the same server. Each test uses channels of its own.
 */
import type { PubSub } from '@tasq/core/backend';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConformanceOptions } from './broker-conformance.js';
import { readText, sleep, text, uniqueName } from './support.js';

/** Resolve once `received` holds `count` items, or reject after `timeoutMs`. */
async function until(received: unknown[], count: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (received.length < count) {
    if (Date.now() > deadline)
      throw new Error(`received ${received.length} of ${count} messages within ${timeoutMs} ms`);
    await sleep(10);
  }
}

export function pubSubConformance(
  name: string,
  factory: () => PubSub | Promise<PubSub>,
  options: ConformanceOptions = {},
): void {
  const title = `${name}: pub/sub conformance`;
  describe.skipIf(options.skipReason !== undefined)(
    options.skipReason ? `${title}: skipped: ${options.skipReason}` : title,
    () => {
      const opened: PubSub[] = [];
      async function open(): Promise<PubSub> {
        const pubsub = await factory();
        opened.push(pubsub);
        return pubsub;
      }
      afterEach(async () => {
        for (const pubsub of opened.splice(0)) await pubsub.close();
      });

      it('delivers a message to every subscriber, on other clients too, in publish order', async () => {
        const [publisher, first, second] = [await open(), await open(), await open()];
        const channel = uniqueName('events');
        const a: string[] = [];
        const b: string[] = [];
        await first!.subscribe(channel, (m) => a.push(readText(m)));
        await second!.subscribe(channel, (m) => b.push(readText(m)));
        const sent = Array.from({ length: 100 }, (_, i) => `event-${i}`);
        for (const message of sent) await publisher!.publish(channel, text(message));
        await until(a, 100);
        await until(b, 100);
        expect(a).toEqual(sent);
        expect(b).toEqual(sent);
      });

      it('keeps channels apart and bodies binary-safe', async () => {
        const [publisher, subscriber] = [await open(), await open()];
        const mine = uniqueName('control');
        const other = uniqueName('control');
        const got: Uint8Array[] = [];
        await subscriber!.subscribe(mine, (m) => got.push(m));
        const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
        await publisher!.publish(other, text('not for me'));
        await publisher!.publish(mine, bytes);
        await until(got, 1);
        await sleep(200);
        expect(got).toHaveLength(1);
        expect(Buffer.from(got[0]!).equals(Buffer.from(bytes))).toBe(true);
      });

      it('accepts a message of maxMessageBytes', async () => {
        const [publisher, subscriber] = [await open(), await open()];
        const channel = uniqueName('big');
        const got: Uint8Array[] = [];
        await subscriber!.subscribe(channel, (m) => got.push(m));
        const big = Uint8Array.from({ length: publisher!.maxMessageBytes }, (_, i) => (i * 7) % 256);
        await publisher!.publish(channel, big);
        await until(got, 1);
        expect(got[0]!.byteLength).toBe(big.byteLength);
      });

      it('stops delivering after unsubscribe and after close', async () => {
        const [publisher, subscriber, closing] = [await open(), await open(), await open()];
        const channel = uniqueName('stop');
        const kept: string[] = [];
        const dropped: string[] = [];
        const closed: string[] = [];
        await subscriber!.subscribe(channel, (m) => kept.push(readText(m)));
        const subscription = await subscriber!.subscribe(channel, (m) => dropped.push(readText(m)));
        await closing!.subscribe(channel, (m) => closed.push(readText(m)));
        await publisher!.publish(channel, text('one'));
        await until(kept, 1);
        await until(dropped, 1);
        await until(closed, 1);
        await subscription.unsubscribe();
        await subscription.unsubscribe();
        await closing!.close();
        await closing!.close();
        await publisher!.publish(channel, text('two'));
        await until(kept, 2);
        await sleep(200);
        expect(kept).toEqual(['one', 'two']);
        expect(dropped).toEqual(['one']);
        expect(closed).toEqual(['one']);
      });
    },
  );
}
