/** The lease keeper over the in-memory broker, on a manual clock: leases extended at half, losses marked. */
import { afterEach, describe, expect, it } from 'vitest';
import { heldPackage, memoryBroker, packageFor, quietLogger } from '../test-support/runtime-parts.js';
import { ClusterEmitter, emptyStats } from './events.js';
import type { HeldPackage } from './held-package.js';
import { LeaseKeeper } from './lease-keeper.js';

const LEASE_MS = 1_000;
const keepers: LeaseKeeper[] = [];
afterEach(() => {
  for (const keeper of keepers.splice(0)) keeper.stop();
});

async function setup() {
  const { clock, broker } = memoryBroker();
  await broker.enqueue('q', [new Uint8Array([1])], {});
  const sentAt = clock.now();
  const [delivery] = await broker.reserve('q', { max: 1, leaseMs: LEASE_MS, waitMs: 0 });
  const entry = heldPackage(sentAt + LEASE_MS, { delivery: delivery!, pkg: packageFor('job-1') });
  const held: HeldPackage[] = [entry];
  const events = new ClusterEmitter();
  const stats = emptyStats();
  const keeper = new LeaseKeeper({
    broker,
    held: () => held,
    leaseMs: LEASE_MS,
    clock,
    logger: quietLogger,
    events,
    stats,
  });
  keepers.push(keeper);
  keeper.start();
  return { clock, broker, entry, events, stats, keeper, sentAt };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the lease keeper', () => {
  it('extends a lease every quarter lease once half of it is gone, dated from the request', async () => {
    const { clock, entry, stats, sentAt } = await setup();
    await clock.advance(250);
    await settle();
    expect(stats.leasesExtended).toBe(0);
    await clock.advance(250);
    await settle();
    expect(stats.leasesExtended).toBe(1);
    expect(entry.leaseUntil).toBe(sentAt + 500 + LEASE_MS);
    // Kept for as long as it is held: far past the first lease, the broker still has it leased.
    await clock.advance(10 * LEASE_MS);
    await settle();
    expect(entry.leaseLost).toBe(false);
    expect(stats.leasesExtended).toBeGreaterThan(10);
  });

  it('marks a package lost when the broker says its lease moved on, and stops extending it', async () => {
    const { clock, broker, entry, stats, events } = await setup();
    const lost: unknown[] = [];
    events.on('lease-lost', (event) => lost.push(event));
    await broker.ack(entry.delivery); // settled elsewhere: the lease is no longer ours
    await clock.advance(500);
    await settle();
    expect(entry.leaseLost).toBe(true);
    expect(stats.leasesLost).toBe(1);
    expect(lost).toEqual([expect.objectContaining({ id: 'job-1', operation: 'extend' })]);
    await clock.advance(2_000);
    await settle();
    expect(stats.leasesLost).toBe(1);
  });
});
