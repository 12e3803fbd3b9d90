/**
 * The monitor with the in-memory broker and a manual clock: leases expire because time is moved, not
 * because the test sleeps.
 */
import {
  BrokerConnectionError,
  BrokerError,
  ManualClock,
  Signature,
  type TaskResult,
  Tasq,
} from '@tasq/core';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryConfig } from '../test-support/memory-deployment.js';
import { ClusterEmitter, emptyStats } from './events.js';
import { describeRef, type HeldPackage } from './held-package.js';
import { Monitor } from './monitor.js';
import { runtimeServicesOf } from '@tasq/core/internal';

const clients: Tasq[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

async function setup(retryMs = 1_000, settings: { maxAttempts?: number; saveLimit?: number } = {}) {
  const clock = new ManualClock();
  const config = memoryConfig({ retry: `${retryMs}ms` });
  const tasq = await Tasq.open(config, { clock });
  clients.push(tasq);
  const stats = emptyStats();
  const events = new ClusterEmitter();
  const monitor = new Monitor({
    services: runtimeServicesOf(tasq),
    clock,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    events,
    stats,
    settings: { maxAttempts: 0, ackFailures: false, saveLimit: 0, retryMs, ...settings },
  });
  const held = async (): Promise<HeldPackage> => {
    const [delivery] = await runtimeServicesOf(tasq).broker.reserve(config.queue, {
      max: 1,
      leaseMs: retryMs,
      waitMs: 0,
    });
    const pkg = runtimeServicesOf(tasq).codec.decode(delivery!.body);
    return {
      delivery: delivery!,
      pkg,
      ref: describeRef(delivery!, pkg),
      leaseUntil: clock.now() + retryMs,
      leaseLost: false,
      extending: false,
      state: 'running',
      timers: [],
    };
  };
  const success = (entry: HeldPackage): TaskResult => ({
    id: entry.pkg.id,
    name: entry.pkg.name,
    queue: entry.pkg.queue,
    status: 'success',
    result: 'done',
    attempts: entry.delivery.deliveries,
    enqueuedAt: entry.pkg.enqueuedAt,
    startedAt: clock.now(),
    stoppedAt: clock.now(),
  });
  /** Make the result backend's next `times` saves fail as during an outage. */
  const failSaves = (times: number) => {
    const backend = runtimeServicesOf(tasq).results;
    const save = backend.save.bind(backend);
    let failures = 0;
    backend.save = async (result) => {
      if (failures++ < times) throw new BrokerConnectionError('result backend unreachable');
      return save(result);
    };
    return () => failures;
  };
  /** Run `work` to its end, moving the clock on while it waits (retry pauses sleep on the clock). */
  const settled = async (work: Promise<void>) => {
    let done = false;
    void work.finally(() => {
      done = true;
    });
    while (!done) await clock.advance(100);
    await work;
  };
  return { clock, config, tasq, stats, events, monitor, held, success, failSaves, settled };
}

describe('Monitor', () => {
  it('saves, then acks a success within its lease', async () => {
    const { tasq, config, monitor, held, success, stats } = await setup();
    const job = await tasq.enqueueByName('any.task', [1]);
    const entry = await held();
    await monitor.complete(entry, success(entry));
    expect((await runtimeServicesOf(tasq).results.get(job.id))?.result).toBe('done');
    expect(await runtimeServicesOf(tasq).broker.size(config.queue)).toMatchObject({ ready: 0, reserved: 0 });
    expect(stats.succeeded).toBe(1);
  });

  it('counts and never applies a completion whose lease moved on to another delivery', async () => {
    const { tasq, config, monitor, held, success, stats, clock } = await setup(1_000);
    const job = await tasq.enqueueByName('any.task', [1]);
    const first = await held();
    await clock.advance(1_500);
    const second = await held();
    expect(second.delivery.deliveries).toBe(2);
    await monitor.complete(first, success(first));
    expect(stats.lateCompletions).toBe(1);
    expect(stats.succeeded).toBe(0);
    expect(await runtimeServicesOf(tasq).results.get(job.id)).toBeUndefined();
    expect((await runtimeServicesOf(tasq).broker.size(config.queue)).reserved).toBe(1);
    await monitor.complete(second, success(second));
    expect((await runtimeServicesOf(tasq).results.get(job.id))?.attempts).toBe(2);
  });

  it('applies a completion past its lease end when the lease is still its own', async () => {
    const { tasq, monitor, held, success, stats, clock } = await setup(1_000);
    const job = await tasq.enqueueByName('any.task', [1]);
    const entry = await held();
    await clock.advance(1_200);
    await monitor.complete(entry, success(entry));
    expect(stats.lateCompletions).toBe(0);
    expect((await runtimeServicesOf(tasq).results.get(job.id))?.status).toBe('success');
  });

  it('saves nothing for a run past its lease end when the broker cannot say the lease is still its own', async () => {
    const { tasq, config, monitor, held, success, stats, clock } = await setup(1_000);
    const job = await tasq.enqueueByName('any.task', [1]);
    const entry = await held();
    await clock.advance(1_200);
    const memory = runtimeServicesOf(tasq).broker.broker;
    memory.extend = async () => {
      throw new BrokerConnectionError('the broker does not answer');
    };
    await monitor.complete(entry, success(entry));
    expect(stats).toMatchObject({ lateCompletions: 1, succeeded: 0 });
    expect(await runtimeServicesOf(tasq).results.get(job.id)).toBeUndefined();
    // Nothing was settled either: the broker delivers the job again.
    expect((await runtimeServicesOf(tasq).broker.size(config.queue)).ready).toBe(1);
  });

  it('retries a result save that fails while the backend is unreachable, then acks the job once', async () => {
    const { tasq, config, monitor, held, success, stats, failSaves, settled } = await setup(60_000);
    const job = await tasq.enqueueByName('any.task', [1]);
    const entry = await held();
    const failures = failSaves(2);
    await settled(monitor.complete(entry, success(entry)));
    expect(failures()).toBe(3);
    expect((await runtimeServicesOf(tasq).results.get(job.id))?.result).toBe('done');
    expect(stats).toMatchObject({ succeeded: 1, released: 0 });
    expect(await runtimeServicesOf(tasq).broker.size(config.queue)).toMatchObject({
      ready: 0,
      delayed: 0,
      reserved: 0,
    });
  });

  it('releases the job to run again when the result backend stays unreachable past the retries', async () => {
    const { tasq, config, monitor, held, success, stats, failSaves, settled } = await setup(60_000);
    const job = await tasq.enqueueByName('any.task', [1]);
    const entry = await held();
    failSaves(100);
    await settled(monitor.complete(entry, success(entry)));
    expect(await runtimeServicesOf(tasq).results.get(job.id)).toBeUndefined();
    expect(stats).toMatchObject({ released: 1 });
    expect(await runtimeServicesOf(tasq).broker.size(config.queue)).toMatchObject({
      delayed: 1,
      reserved: 0,
    });
  });

  it('stops retrying a save once the lease has ended, and saves nothing', async () => {
    const { tasq, monitor, held, success, stats, failSaves, settled } = await setup(1_000);
    const job = await tasq.enqueueByName('any.task', [1]);
    const entry = await held();
    failSaves(100);
    // The retry pauses (0.1 s, 0.5 s, 2 s) outlast the 1 s lease.
    await settled(monitor.complete(entry, success(entry)));
    expect(await runtimeServicesOf(tasq).results.get(job.id)).toBeUndefined();
    expect(stats).toMatchObject({ lateCompletions: 1, succeeded: 0, released: 0 });
  });

  it('gives a job with limited attempts back unrun as a fresh copy, so the delivery does not count', async () => {
    const { tasq, config, monitor, held, stats } = await setup(1_000, { maxAttempts: 1 });
    const job = await tasq.enqueueByName('any.task', [1]);
    const entry = await held();
    await monitor.release(entry, 0, 'cluster stopping');
    expect(stats.released).toBe(1);
    const [again] = await runtimeServicesOf(tasq).broker.reserve(config.queue, {
      max: 10,
      leaseMs: 1_000,
      waitMs: 0,
    });
    expect(runtimeServicesOf(tasq).codec.decode(again!.body).id).toBe(job.id);
    expect(again!.deliveries).toBe(1);
    expect(await runtimeServicesOf(tasq).broker.size(config.queue)).toMatchObject({ ready: 0, reserved: 1 });
  });

  it('releases a job with unlimited attempts it gives back unrun', async () => {
    const { tasq, config, monitor, held } = await setup(1_000);
    await tasq.enqueueByName('any.task', [1]);
    const entry = await held();
    await monitor.release(entry, 0, 'cluster stopping');
    const [again] = await runtimeServicesOf(tasq).broker.reserve(config.queue, {
      max: 10,
      leaseMs: 1_000,
      waitMs: 0,
    });
    expect(again!.deliveries).toBe(2);
  });

  it('keeps saveLimit after a burst: a trailing prune follows the last save', async () => {
    const { tasq, monitor, held, success, clock } = await setup(60_000, { saveLimit: 5 });
    for (let i = 0; i < 30; i++) {
      await tasq.enqueueByName('any.task', [i]);
      const entry = await held();
      await monitor.complete(entry, success(entry));
    }
    const stored = async () =>
      (await runtimeServicesOf(tasq).results.list({ status: 'success', limit: 100 })).length;
    // The burst took no clock time: only its first save could prune.
    expect(await stored()).toBeGreaterThan(5);
    await clock.advance(1_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await stored()).toBe(5);
  });

  it('prunes what is left when it drains (the cluster stops)', async () => {
    const { tasq, monitor, held, success } = await setup(60_000, { saveLimit: 2 });
    for (let i = 0; i < 6; i++) {
      await tasq.enqueueByName('any.task', [i]);
      const entry = await held();
      await monitor.complete(entry, success(entry));
    }
    await monitor.drain();
    expect(await runtimeServicesOf(tasq).results.list({ status: 'success', limit: 100 })).toHaveLength(2);
  });

  it('runs a job again when its chain link could not be enqueued, and that run sends the link once', async () => {
    const { tasq, config, monitor, held, success, stats, clock } = await setup(1_000);
    const chain = await tasq
      .chain([new Signature('any.task', [1]), new Signature('next.task', [])])
      .enqueue();
    const memory = runtimeServicesOf(tasq).broker.broker;
    const enqueue = memory.enqueue;
    memory.enqueue = async () => {
      throw new BrokerError('the queue refused the message');
    };
    const first = await held();
    await monitor.complete(first, success(first));
    memory.enqueue = enqueue;
    // Not acked: the job waits out the release delay, with nothing else sent.
    expect(stats.released).toBe(1);
    expect(await runtimeServicesOf(tasq).broker.size(config.queue)).toMatchObject({
      ready: 0,
      delayed: 1,
      reserved: 0,
    });

    await clock.advance(1_000);
    const again = await held();
    expect(again.pkg.id).toBe(first.pkg.id);
    await monitor.complete(again, success(again));
    const [link] = await runtimeServicesOf(tasq).broker.reserve(config.queue, {
      max: 10,
      leaseMs: 1_000,
      waitMs: 0,
    });
    expect(runtimeServicesOf(tasq).codec.decode(link!.body)).toMatchObject({
      id: chain.id,
      name: 'next.task',
      args: ['done'],
    });
    expect(await runtimeServicesOf(tasq).broker.size(config.queue)).toMatchObject({
      ready: 0,
      delayed: 0,
      reserved: 1,
    });
  });
});
