/** A delivery the cluster holds, from reserve to settle, with the lease it was given. */
import type { Delivery } from '@tasq/core/backend';
import type { TaskPackage } from '@tasq/core/internal';
import type { WorkerSlot } from '../pool/worker-slot.js';
import type { CancelTimer } from './clock-timers.js';
import type { TaskRef } from './events.js';

export type HeldState = 'buffered' | 'running' | 'settling';

export interface HeldPackage {
  readonly delivery: Delivery;
  readonly pkg: TaskPackage;
  readonly ref: TaskRef;
  /**
   * When the lease ends unless extended (clock ms), dated from when the request that granted it left
   * (see lease.ts); Infinity on a broker whose leases do not run out by time.
   */
  leaseUntil: number;
  /** An extend found the lease gone: another consumer may have it; never apply this run's outcome. */
  leaseLost: boolean;
  extending: boolean;
  state: HeldState;
  runId?: number;
  workerId?: number;
  /**
   * The worker running it, to reach when the run is cancelled. A field rather than a WeakMap beside the
   * ledger: a WeakMap entry per job cost the sentinel ephemeron bookkeeping in every young-generation GC.
   */
  worker?: WorkerSlot;
  startedAt?: number;
  /** The run's soft and hard timeouts, cancelled when it ends. */
  timers: CancelTimer[];
  /** Set when the hard timeout fired: the worker is being killed for this run. */
  timedOutAfterMs?: number;
  /** Set when an operator cancelled the job while this cluster held it: the run is being stopped. */
  cancelled?: { reason: string; graceMs?: number };
  /** Set when the worker passed the hard memory ceiling while running this. */
  memoryExceeded?: { rssBytes: number; limitBytes: number };
}

export function describeRef(delivery: Delivery, pkg: TaskPackage): TaskRef {
  return { id: pkg.id, name: pkg.name, queue: delivery.queue, deliveries: delivery.deliveries };
}
