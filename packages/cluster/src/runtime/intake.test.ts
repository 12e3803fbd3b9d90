/**
 * Intake with the in-memory broker and result backend on a manual clock: jobs an operator cancelled, or
 * whose expiry passed, are stored as such and acked, never handed to a worker, and their hook never sent.
 */
import { Administration, ManualClock, Tasq } from '@tasq/core';
import type { CancelMark } from '@tasq/core/backend';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryConfig } from '../test-support/memory-deployment.js';
import { quietLogger } from '../test-support/runtime-parts.js';
import { type ClusterEvents, ClusterEmitter, emptyStats } from './events.js';
import { HeldLedger } from './held-ledger.js';
import { Intake } from './intake.js';
import { Monitor } from './monitor.js';
import { runtimeServicesOf } from '@tasq/core/internal';

const clients: Tasq[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

async function setup() {
  const clock = new ManualClock();
  const config = memoryConfig({});
  const tasq = await Tasq.open(config, { clock });
  clients.push(tasq);
  const stats = emptyStats();
  const events = new ClusterEmitter();
  const seen: Array<{ name: string; payload: unknown }> = [];
  events.onAny((name, payload) => seen.push({ name, payload }));
  const settings = { maxAttempts: 0, ackFailures: false, saveLimit: 0, retryMs: 60_000 };
  const monitor = new Monitor({
    services: runtimeServicesOf(tasq),
    clock,
    logger: quietLogger,
    events,
    stats,
    settings,
  });
  const ledger = new HeldLedger(10);
  const admin = runtimeServicesOf(tasq).broker.broker.administration!;
  const markReads: string[][] = [];
  const intake = new Intake({
    codec: runtimeServicesOf(tasq).codec,
    capabilities: runtimeServicesOf(tasq).broker.capabilities,
    ledger,
    monitor,
    clock,
    logger: quietLogger,
    events,
    stats,
    leaseMs: 60_000,
    maxAttempts: 0,
    saveArgs: false,
    cancelMarks: async (ids): Promise<CancelMark[]> => {
      markReads.push([...ids]);
      return admin.cancelMarks!(ids);
    },
  });
  /** Reserve what is ready and take it in as the fetcher does; resolves once every settlement is done. */
  const takeIn = async () => {
    const sentAt = clock.now();
    const deliveries = await runtimeServicesOf(tasq).broker.reserve(config.queue, {
      max: 10,
      leaseMs: 60_000,
      waitMs: 0,
    });
    await intake.acceptBatch(deliveries, sentAt);
    await monitor.drain();
    return deliveries.length;
  };
  const ready = async () => (await runtimeServicesOf(tasq).broker.size(config.queue)).ready;
  return { clock, tasq, admin, stats, seen, ledger, markReads, takeIn, ready, jobs: Administration.of(tasq) };
}

const eventsNamed = (seen: Array<{ name: string; payload: unknown }>, name: keyof ClusterEvents) =>
  seen.filter((event) => event.name === name).map((event) => event.payload);

describe('intake', () => {
  it('stores a job whose expiry passed before it started as expired, acks it, and sends no hook', async () => {
    const { clock, tasq, stats, seen, ledger, takeIn, ready, jobs } = await setup();
    const late = await tasq.enqueueByName('any.task', [1], { expires: '1s', hook: 'any.hook' });
    const onTime = await tasq.enqueueByName('any.task', [2], { expires: '1h' });
    await clock.advance(2_000);

    expect(await takeIn()).toBe(2);

    expect(ledger.buffer.map((entry) => entry.pkg.id)).toEqual([onTime.id]);
    expect((await jobs.job(late.id)).state).toBe('expired');
    await expect(late.result()).rejects.toMatchObject({ remote: { name: 'JobExpiredError' } });
    expect(stats.expired).toBe(1);
    expect(eventsNamed(seen, 'task-expired')).toEqual([
      expect.objectContaining({ id: late.id, reason: expect.stringContaining('expired at') }),
    ]);
    expect(eventsNamed(seen, 'task-failed')).toEqual([]);
    // Acked, and the hook was not enqueued: nothing is ready again.
    expect(await ready()).toBe(0);
  });

  it('reads the cancel marks once for a whole batch and never runs a marked job, nor its hook', async () => {
    const { tasq, admin, stats, seen, ledger, markReads, takeIn, ready, jobs } = await setup();
    const kept = await tasq.enqueueByName('any.task', [1]);
    const cancelled = await tasq.enqueueByName('any.task', [2], { hook: 'any.hook' });
    await admin.markCancelled!(cancelled.id, 'not wanted');

    expect(await takeIn()).toBe(2);

    expect(markReads).toEqual([[kept.id, cancelled.id]]);
    expect(ledger.buffer.map((entry) => entry.pkg.id)).toEqual([kept.id]);
    expect((await jobs.job(cancelled.id)).state).toBe('cancelled');
    await expect(cancelled.result()).rejects.toMatchObject({
      remote: { name: 'JobCancelledError', message: expect.stringContaining('not wanted') },
    });
    expect(stats.cancelled).toBe(1);
    expect(eventsNamed(seen, 'task-cancelled')).toEqual([
      expect.objectContaining({ id: cancelled.id, reason: expect.stringContaining('not wanted') }),
    ]);
    expect(await ready()).toBe(0);
  });
});
