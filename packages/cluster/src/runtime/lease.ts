/**
 * Lease arithmetic for held deliveries. A lease is dated from the moment the request that granted it
 * left (the reserve, or the extend), never from when the reply was read: the broker starts the lease
 * somewhere between the two, so only the earlier moment is safe. A reply read late (a slow network, a
 * blocked event loop, a stopped process) must not make a lease that already ended look alive.
 */
import type { BrokerCapabilities } from '@tasq/core/backend';

/**
 * When a lease granted by a request sent at `requestSentAt` ends. Infinity on a broker whose leases do
 * not run out by time (`receipts: false`, RabbitMQ: a delivery stays ours until settled or until its
 * channel closes).
 */
export function leaseEndsAt(
  capabilities: Pick<BrokerCapabilities, 'receipts'>,
  requestSentAt: number,
  leaseMs: number,
): number {
  return capabilities.receipts ? requestSentAt + leaseMs : Number.POSITIVE_INFINITY;
}

/**
 * The least lease a package must have left to be started, and a result to be saved without asking the
 * broker first: an eighth of the lease (7.5 s of the default 60 s). The lease keeper extends whatever
 * is held once half its lease is gone, every quarter lease, so a healthy package always has more than
 * a quarter left; less than an eighth means the broker answered late or the process stalled, and the
 * lease could end before the next extension lands.
 */
export function leaseMarginMs(leaseMs: number): number {
  return leaseMs / 8;
}

/** `held`: time enough left; `short`: still ours, but not for long; `ended`: it may be someone else's now. */
export type LeaseStanding = 'held' | 'short' | 'ended';

export function leaseStanding(leaseUntil: number, now: number, marginMs: number): LeaseStanding {
  if (now >= leaseUntil) return 'ended';
  return leaseUntil - now < marginMs ? 'short' : 'held';
}
