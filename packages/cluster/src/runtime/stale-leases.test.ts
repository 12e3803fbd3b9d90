/**
 * Leases are dated from when the reserve left, not from when its answer was read. A cluster over the
 * in-memory broker with a manual clock: the broker's reply is "read late" by moving the clock forward
 * between the reserve and its answer, as a slow network or a stalled process would.
 */
import { ManualClock } from '@tasq/core';
import type { Delivery, MemoryBroker } from '@tasq/core/backend';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterHandle } from '../start-cluster.js';
import { memoryConfig, startOnClock } from '../test-support/memory-deployment.js';
import { leaseEndsAt, leaseMarginMs, leaseStanding } from './lease.js';
import { runtimeServicesOf } from '@tasq/core/internal';
const LEASE_MS = 8_000;

describe('lease arithmetic', () => {
  it('dates a lease from when its request left, and never ends one on a broker without timed leases', () => {
    expect(leaseEndsAt({ receipts: true }, 1_000, LEASE_MS)).toBe(9_000);
    expect(leaseEndsAt({ receipts: false }, 1_000, LEASE_MS)).toBe(Number.POSITIVE_INFINITY);
  });

  it('calls a lease short below an eighth of it, and ended at its end', () => {
    const margin = leaseMarginMs(LEASE_MS);
    expect(margin).toBe(1_000);
    expect(leaseStanding(9_000, 7_999, margin)).toBe('held');
    expect(leaseStanding(9_000, 8_001, margin)).toBe('short');
    expect(leaseStanding(9_000, 9_000, margin)).toBe('ended');
    expect(leaseStanding(Number.POSITIVE_INFINITY, 9_000_000, margin)).toBe('held');
  });
});

/** The first of two events, named. */
function firstOf(
  cluster: ClusterHandle,
  ...names: ('lease-lost' | 'task-started' | 'task-released')[]
): Promise<Record<string, unknown>> {
  return Promise.race(
    names.map((name) =>
      cluster.events.once(name).then((payload) => ({ event: name, ...(payload as object) })),
    ),
  );
}

describe('a reply read late', () => {
  const clusters: ClusterHandle[] = [];
  afterEach(async () => {
    await Promise.all(clusters.splice(0).map((cluster) => cluster.stop({ timeoutMs: 1_000 })));
  });

  /** A cluster whose next non-empty reserve answer is read `stallMs` of clock time after it was sent. */
  async function stalledOnce(stallMs: number) {
    const clock = new ManualClock();
    // One package per reserve: with larger bulks the other fetch loop may reserve the redelivery (and
    // start it) while the late reply is still being read, and the first event is then its start.
    const cluster = await startOnClock(
      memoryConfig({ retry: `${LEASE_MS}ms`, bulk: 1, queueLimit: 2 }),
      clock,
    );
    clusters.push(cluster);
    const memory = runtimeServicesOf(cluster.tasq).broker.broker as MemoryBroker;
    const reserve = memory.reserve.bind(memory);
    let stall = stallMs;
    memory.reserve = async (queue, options): Promise<Delivery[]> => {
      const deliveries = await reserve(queue, options);
      if (deliveries.length > 0 && stall > 0) {
        const late = stall;
        stall = 0;
        await clock.advance(late);
      }
      return deliveries;
    };
    // The fetch loops are already waiting in a reserve made before the wrapper: let those waits
    // (a quarter lease at most) run out, so the next reserves go through it.
    await clock.advance(LEASE_MS / 4);
    return { cluster, clock };
  }

  it('does not start a package whose lease ended before its reply was read; its next delivery runs', async () => {
    const { cluster } = await stalledOnce(LEASE_MS + 1);
    const started: number[] = [];
    cluster.events.on('task-started', (event) => started.push(event.deliveries));
    const first = firstOf(cluster, 'lease-lost', 'task-started');
    const succeeded = cluster.events.once('task-succeeded');
    const job = await cluster.tasq.enqueueByName('test.add', [1, 2]);
    expect(await first).toMatchObject({ event: 'lease-lost', id: job.id, deliveries: 1, operation: 'start' });
    // Only the second delivery, whose lease was whole, ran.
    expect(await succeeded).toMatchObject({ id: job.id, deliveries: 2 });
    expect(started).toEqual([2]);
    expect(await runtimeServicesOf(cluster.tasq).results.get(job.id)).toMatchObject({
      status: 'success',
      result: 3,
      attempts: 2,
    });
    expect(cluster.stats).toMatchObject({ started: 1, succeeded: 1, lateCompletions: 0 });
  });

  it('gives back, without starting it, a package whose lease is nearly over when its reply is read', async () => {
    // Read with less than an eighth of the lease left: still ours, too little to start a run.
    const { cluster } = await stalledOnce(LEASE_MS - leaseMarginMs(LEASE_MS) / 2);
    const started: number[] = [];
    cluster.events.on('task-started', (event) => started.push(event.deliveries));
    const released: unknown[] = [];
    cluster.events.on('task-released', (event) => released.push(event));
    const succeeded = cluster.events.once('task-succeeded');
    const job = await cluster.tasq.enqueueByName('test.add', [2, 3]);
    expect(await succeeded).toMatchObject({ id: job.id, deliveries: 2 });
    expect(released).toEqual([
      expect.objectContaining({
        id: job.id,
        deliveries: 1,
        reason: 'its lease was nearly over before it could start',
      }),
    ]);
    expect(await runtimeServicesOf(cluster.tasq).results.get(job.id)).toMatchObject({
      result: 5,
      attempts: 2,
    });
    expect(started).toEqual([2]);
  });
});
