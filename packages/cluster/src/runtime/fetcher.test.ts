/**
 * The fetcher over the in-memory broker, on a manual clock: how far ahead it reserves, in whole bulks,
 * and how it waits after a failing reserve, with no process and no sleep.
 */
import type { BrokerClient, Delivery } from '@tasq/core/backend';
import { ManualClock } from '@tasq/core';
import { afterEach, describe, expect, it } from 'vitest';
import { heldPackage, memoryBroker, quietLogger } from '../test-support/runtime-parts.js';
import { ClusterEmitter } from './events.js';
import { type FetchSettings, Fetcher } from './fetcher.js';
import { HeldLedger } from './held-ledger.js';
import { PausedQueues } from './paused-queues.js';
import { RateLimits } from './rate-limiter.js';

const fetchers: Fetcher[] = [];
afterEach(async () => {
  await Promise.all(fetchers.splice(0).map((fetcher) => fetcher.stop()));
});

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

function setup(
  broker: Pick<BrokerClient, 'reserve' | 'capabilities'>,
  clock: ManualClock,
  settings: Partial<FetchSettings> = {},
  freeSlots = 1,
  paused?: PausedQueues,
) {
  const ledger = new HeldLedger(settings.queueLimit ?? 10);
  const events = new ClusterEmitter();
  const taken: Delivery[] = [];
  const fetcher = new Fetcher({
    settings: {
      queues: ['q'],
      bulk: 5,
      queueLimit: 10,
      leaseMs: 60_000,
      pollMs: 200,
      guardCycleMs: 1_000,
      reserveWaitMs: 0,
      ...settings,
    },
    broker,
    ledger,
    pool: { readyCount: () => 1, freeSlots: () => freeSlots },
    rateLimits: new RateLimits({}, clock),
    clock,
    logger: quietLogger,
    events,
    ...(paused ? { paused } : {}),
    intake: (deliveries, sentAt) => {
      for (const delivery of deliveries) {
        taken.push(delivery);
        ledger.enqueue(heldPackage(sentAt + 60_000, { delivery }));
      }
    },
    dispatch() {},
    onProgress() {},
  });
  fetchers.push(fetcher);
  return { ledger, events, taken, fetcher };
}

async function filled(count: number) {
  const { clock, broker } = memoryBroker();
  await broker.enqueue(
    'q',
    Array.from({ length: count }, (_, i) => new Uint8Array([i])),
    {},
  );
  return { clock, broker };
}

describe('the fetcher', () => {
  it('holds up to queueLimit packages ahead and then waits', async () => {
    const { clock, broker } = await filled(30);
    const { ledger, taken, fetcher } = setup(broker, clock, { queueLimit: 10, bulk: 5 });
    fetcher.start();
    await settle();
    expect(taken).toHaveLength(10);
    expect(ledger.room()).toBe(0);
    await clock.advance(5_000);
    await settle();
    expect(taken).toHaveLength(10);
  });

  it('tops up in whole bulks while the buffer still feeds the pool, and at once when the pool would idle', async () => {
    const { clock, broker } = await filled(30);
    const { ledger, taken, fetcher } = setup(broker, clock, { queueLimit: 10, bulk: 5 }, 1);
    fetcher.start();
    await settle();
    // Two packages leave: room for 2, less than a bulk, and 8 still wait for the one free slot.
    for (const entry of ledger.buffer.splice(0, 2)) ledger.forget(entry);
    await settle();
    expect(taken).toHaveLength(10);
    // Three more leave: room for a whole bulk.
    for (const entry of ledger.buffer.splice(0, 3)) ledger.forget(entry);
    await settle();
    expect(taken).toHaveLength(15);
  });

  it('polls an empty broker every `poll` instead of spinning', async () => {
    const { clock, broker } = memoryBroker();
    let reserves = 0;
    const counting = {
      capabilities: broker.capabilities,
      reserve: (...args: Parameters<BrokerClient['reserve']>) => {
        reserves++;
        return broker.reserve(...args);
      },
    };
    const { fetcher } = setup(counting, clock, { pollMs: 200 });
    fetcher.start();
    await settle();
    // Two loops (queueLimit holds two bulks), one reserve each.
    expect(reserves).toBe(2);
    await clock.advance(199);
    await settle();
    expect(reserves).toBe(2);
    await clock.advance(1);
    await settle();
    expect(reserves).toBe(4);
  });

  it('waits longer after each failed reserve, and says so', async () => {
    const clock = new ManualClock();
    const at: number[] = [];
    const failing = {
      capabilities: memoryBroker(clock).broker.capabilities,
      reserve: async (): Promise<Delivery[]> => {
        at.push(clock.now());
        throw new Error('connection refused');
      },
    };
    const { events, fetcher } = setup(failing, clock, { queueLimit: 5, bulk: 5 });
    const errors: unknown[] = [];
    events.on('fetch-error', (event) => errors.push(event));
    fetcher.start();
    for (let i = 0; i < 20; i++) {
      await settle();
      await clock.advance(100);
    }
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(gaps.slice(0, 3)).toEqual([250, 500, 1_000]);
    expect(errors[0]).toEqual({ queue: 'q', error: 'connection refused' });
  });

  it('takes nothing from a paused queue, reads the flags at most once a second, and goes on after a resume', async () => {
    const { clock, broker } = await filled(3);
    const admin = broker.broker.administration!;
    await admin.setPaused!('q', true);
    let reads = 0;
    const paused = new PausedQueues({
      read: () => {
        reads++;
        return admin.pausedQueues!();
      },
      clock,
      logger: quietLogger,
    });
    const { taken, fetcher } = setup(broker, clock, { pollMs: 200 }, 1, paused);
    fetcher.start();
    for (let i = 0; i < 10; i++) {
      await settle();
      await clock.advance(100);
    }
    await settle();
    // A second went by with two loops checking: one or two reads, no reserve, and enqueues still land.
    expect(taken).toHaveLength(0);
    expect(reads).toBeLessThanOrEqual(2);
    await broker.enqueue('q', [new Uint8Array([9])], {});
    expect((await broker.size('q')).ready).toBe(4);

    await admin.setPaused!('q', false);
    for (let i = 0; i < 10; i++) {
      await settle();
      await clock.advance(100);
    }
    await settle();
    expect(taken).toHaveLength(4);
  });

  it('reserves again at once after a wait cut short by the pause flags, instead of sleeping a whole poll', async () => {
    const { clock, broker } = memoryBroker();
    const admin = broker.broker.administration!;
    const paused = new PausedQueues({ read: () => admin.pausedQueues!(), clock, logger: quietLogger });
    const { taken, fetcher } = setup(broker, clock, { reserveWaitMs: 5_000, pollMs: 200 }, 1, paused);
    await paused.refresh();
    // The flags were read 990 ms ago: the loops' reserves may wait 10 ms.
    await clock.advance(990);
    fetcher.start();
    await settle();
    await clock.advance(10);
    await settle();
    // They waited what they were asked, read the flags again and wait anew; a job is taken at once.
    await broker.enqueue('q', [new Uint8Array([1])], {});
    await settle();
    await clock.advance(1);
    await settle();
    expect(taken).toHaveLength(1);
  });

  it('ends a waiting reserve when its pause read grows stale, so a pause stops a loop already waiting', async () => {
    const { clock, broker } = memoryBroker();
    const admin = broker.broker.administration!;
    const paused = new PausedQueues({ read: () => admin.pausedQueues!(), clock, logger: quietLogger });
    const { taken, fetcher } = setup(broker, clock, { reserveWaitMs: 5_000 }, 1, paused);
    await paused.refresh();
    fetcher.start();
    await settle();
    // Both loops now wait in a reserve on the empty queue; the pause lands while they wait.
    await admin.setPaused!('q', true);
    for (let i = 0; i < 15; i++) {
      await settle();
      await clock.advance(100);
    }
    await broker.enqueue('q', [new Uint8Array([1])], {});
    for (let i = 0; i < 40; i++) {
      await settle();
      await clock.advance(100);
    }
    expect(taken).toHaveLength(0);
  });
});
