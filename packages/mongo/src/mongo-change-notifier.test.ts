import { ManualClock } from '@tasq/core/backend';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { ChangeNotifier, sleepUntilChanged } from './mongo-change-notifier.js';

describe('sleepUntilChanged', () => {
  it('ends when the time has passed on the given clock', async () => {
    const clock = new ManualClock();
    let done = false;
    const sleeping = sleepUntilChanged(clock, 200, undefined, undefined).then(() => {
      done = true;
    });
    await clock.advance(199);
    expect(done).toBe(false);
    await clock.advance(1);
    await sleeping;
    expect(done).toBe(true);
  });

  it('ends early on a change, and on an abort, without rejecting', async () => {
    const clock = new ManualClock();
    let changed!: () => void;
    const change = new Promise<void>((resolve) => {
      changed = resolve;
    });
    const byChange = sleepUntilChanged(clock, 60_000, change, undefined);
    changed();
    await expect(byChange).resolves.toBeUndefined();

    const controller = new AbortController();
    const byAbort = sleepUntilChanged(clock, 60_000, undefined, controller.signal);
    controller.abort();
    await expect(byAbort).resolves.toBeUndefined();
  });
});

describe('ChangeNotifier waiters', () => {
  // A client that is never connected: the notifier's stream is not started, only its waiter bookkeeping runs.
  const client = new MongoClient('mongodb://127.0.0.1:1');
  const collection = client.db('tasq').collection('tasq_packages');
  afterAll(() => client.close());

  it('are all woken by close, so no wait outlives the broker', async () => {
    const notifier = new ChangeNotifier(collection, [], () => undefined, console);
    expect(notifier.active).toBe(false);
    const a = notifier.next('emails');
    const b = notifier.next('reports');
    await notifier.close();
    await expect(Promise.all([a.changed, b.changed])).resolves.toEqual([undefined, undefined]);
  });

  it('stop listening once cancelled', async () => {
    const notifier = new ChangeNotifier(collection, [], () => undefined, console);
    const cancelled = notifier.next('emails');
    cancelled.cancel();
    let woke = false;
    void cancelled.changed.then(() => {
      woke = true;
    });
    await notifier.close();
    await Promise.resolve();
    expect(woke).toBe(false);
  });
});

describe('a change stream that cannot be opened', () => {
  it('is logged once, wakes its waiters and leaves them polling; start does not reject', async () => {
    // Nothing listens on port 1: the driver's server selection gives up after 200 ms.
    const client = new MongoClient('mongodb://127.0.0.1:1', { serverSelectionTimeoutMS: 200 });
    const warnings: { fields: object; message?: string }[] = [];
    const logger = {
      ...console,
      warn: (fields: object, message?: string) => warnings.push({ fields, message }),
    };
    const notifier = new ChangeNotifier(
      client.db('tasq').collection('tasq_packages'),
      [],
      () => undefined,
      logger,
    );
    try {
      const waiter = notifier.next('emails');
      await notifier.start();
      await waiter.changed;
      expect(notifier.active).toBe(false);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.message).toBe('mongo change stream stopped; falling back to polling');
      expect(warnings[0]?.fields).toMatchObject({ collection: 'tasq_packages' });
    } finally {
      await notifier.close();
      await client.close();
    }
  });
});
