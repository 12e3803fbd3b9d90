/**
 * The monitor with the in-memory broker and a manual clock: leases expire because time is moved, not
 * because the test sleeps.
 */
import { randomBytes } from 'node:crypto';
import { BrokerError, ManualClock, resolveConfig, Signature, type TaskResult, Tasq } from '@tasq/core';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterEmitter, emptyStats } from './events.js';
import { describeRef, type HeldPackage } from './held-package.js';
import { Monitor } from './monitor.js';

const clients: Tasq[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

async function setup(retryMs = 1_000) {
  const clock = new ManualClock();
  const config = resolveConfig(
    {
      brokerClass: 'memory',
      name: `monitor-${randomBytes(4).toString('hex')}`,
      retry: `${retryMs}ms`,
      secret: 's',
    },
    { env: {} },
  );
  const tasq = await Tasq.open(config, { clock });
  clients.push(tasq);
  const stats = emptyStats();
  const events = new ClusterEmitter();
  const monitor = new Monitor({
    tasq,
    clock,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    events,
    stats,
    settings: { maxAttempts: 0, ackFailures: false, saveLimit: 0, retryMs },
  });
  const held = async (): Promise<HeldPackage> => {
    const [delivery] = await tasq.broker.reserve(config.queue, { max: 1, leaseMs: retryMs, waitMs: 0 });
    const pkg = tasq.codec.decode(delivery!.body);
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
  return { clock, config, tasq, stats, events, monitor, held, success };
}

describe('Monitor', () => {
  it('saves, then acks a success within its lease', async () => {
    const { tasq, config, monitor, held, success, stats } = await setup();
    const job = await tasq.enqueueByName('any.task', [1]);
    const entry = await held();
    await monitor.complete(entry, success(entry));
    expect((await tasq.results.get(job.id))?.result).toBe('done');
    expect(await tasq.broker.size(config.queue)).toMatchObject({ ready: 0, reserved: 0 });
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
    expect(await tasq.results.get(job.id)).toBeUndefined();
    expect((await tasq.broker.size(config.queue)).reserved).toBe(1);
    await monitor.complete(second, success(second));
    expect((await tasq.results.get(job.id))?.attempts).toBe(2);
  });

  it('applies a completion past its lease end when the lease is still its own', async () => {
    const { tasq, monitor, held, success, stats, clock } = await setup(1_000);
    const job = await tasq.enqueueByName('any.task', [1]);
    const entry = await held();
    await clock.advance(1_200);
    await monitor.complete(entry, success(entry));
    expect(stats.lateCompletions).toBe(0);
    expect((await tasq.results.get(job.id))?.status).toBe('success');
  });

  it('runs a job again when its chain link could not be enqueued, and that run sends the link once', async () => {
    const { tasq, config, monitor, held, success, stats, clock } = await setup(1_000);
    const chain = await tasq
      .chain([new Signature('any.task', [1]), new Signature('next.task', [])])
      .enqueue();
    const memory = tasq.broker.broker;
    const enqueue = memory.enqueue;
    memory.enqueue = async () => {
      throw new BrokerError('the queue refused the message');
    };
    const first = await held();
    await monitor.complete(first, success(first));
    memory.enqueue = enqueue;
    // Not acked: the job waits out the release delay, with nothing else sent.
    expect(stats.released).toBe(1);
    expect(await tasq.broker.size(config.queue)).toMatchObject({ ready: 0, delayed: 1, reserved: 0 });

    await clock.advance(1_000);
    const again = await held();
    expect(again.pkg.id).toBe(first.pkg.id);
    await monitor.complete(again, success(again));
    const [link] = await tasq.broker.reserve(config.queue, { max: 10, leaseMs: 1_000, waitMs: 0 });
    expect(tasq.codec.decode(link!.body)).toMatchObject({ id: chain.id, name: 'next.task', args: ['done'] });
    expect(await tasq.broker.size(config.queue)).toMatchObject({ ready: 0, delayed: 0, reserved: 1 });
  });
});
