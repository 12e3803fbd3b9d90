/**
 * A broker that lives in one process's memory. It honours the whole contract (leases, redelivery counts,
 * delays, priorities, dead letters) so tests and `sync`-less local runs behave as they would on a real
 * broker. Several MemoryBroker instances over one MemoryBrokerStore act like several connections to one
 * server. Nothing survives the process.
 */
import {
  BROKER_SPECIFICATION_VERSION,
  type Broker,
  type BrokerCapabilities,
  type Delivery,
  type EnqueueOptions,
  type QueueSize,
  type ReserveOptions,
} from '../broker.js';
import type { BrokerAdministration, PackageLabel } from '../admin/broker-administration.js';
import { type Clock, systemClock } from '../clock.js';
import { BrokerConnectionError, LeaseLostError } from '../errors.js';
import { uuidv7 } from '../ids.js';
import { nodeCrypto } from '../node-builtins.js';
import { MemoryBrokerAdministration } from './memory-broker-administration.js';

/** @internal */
export interface Entry {
  id: string;
  /** What the client said the body holds (job id, task, expiry), when it said. */
  label?: PackageLabel;
  enqueuedAt: number;
  body: Uint8Array;
  priority: number;
  /** Enqueue order, for FIFO within a priority. */
  sequence: number;
  /** Not deliverable before this time (delays and delayed releases). */
  readyAt: number;
  deliveries: number;
  /** Set while reserved; a new reservation replaces it, which is what makes old receipts stale. */
  leaseToken?: string;
  lockedUntil?: number;
}

/** A dead letter: the entry, why and when it died. */
export interface DeadEntry {
  entry: Entry;
  reason: string;
  deadAt: number;
}

/** @internal */
export interface QueueState {
  /** In enqueue order (a Map keeps insertion order): newest last. */
  entries: Map<string, Entry>;
  /** By package id, in order of death: newest last. */
  dead: Map<string, DeadEntry>;
  waiters: Set<() => void>;
}

interface MemoryReceipt {
  id: string;
  leaseToken: string;
}

/** The shared "server" state: pass one store to several brokers to simulate several connections. */
export class MemoryBrokerStore {
  readonly queues = new Map<string, QueueState>();
  sequence = 0;
  /** Job id to the queue and package id of its newest package: the lookup index. */
  readonly jobs = new Map<string, { queue: string; packageId: string }>();
  readonly paused = new Set<string>();
  readonly cancelMarks = new Map<string, { reason: string; at: number }>();

  queue(name: string): QueueState {
    let state = this.queues.get(name);
    if (!state) {
      state = { entries: new Map(), dead: new Map(), waiters: new Set() };
      this.queues.set(name, state);
    }
    return state;
  }
}

export interface MemoryBrokerOptions {
  store?: MemoryBrokerStore;
  clock?: Clock;
  /** Default 10 MiB: large enough for any sane package, small enough to catch a runaway one. */
  maxPackageBytes?: number;
}

export class MemoryBroker implements Broker {
  readonly specificationVersion = BROKER_SPECIFICATION_VERSION;
  readonly name = 'memory';
  readonly capabilities: BrokerCapabilities;
  readonly store: MemoryBrokerStore;
  readonly administration: BrokerAdministration;
  private readonly clock: Clock;
  private closed = false;
  private readonly closing = new AbortController();

  constructor(options: MemoryBrokerOptions = {}) {
    this.store = options.store ?? new MemoryBrokerStore();
    this.clock = options.clock ?? systemClock;
    this.capabilities = {
      receipts: true,
      extend: true,
      delay: { maxMs: Number.MAX_SAFE_INTEGER },
      priority: true,
      fifo: true,
      maxBatch: 1000,
      maxPackageBytes: options.maxPackageBytes ?? 10 * 1024 * 1024,
      pubsub: false,
    };
    this.administration = new MemoryBrokerAdministration(this.store, this.clock, () => this.checkOpen());
  }

  async enqueue(
    queue: string,
    bodies: readonly Uint8Array[],
    options: EnqueueOptions = {},
  ): Promise<string[]> {
    this.checkOpen();
    const state = this.store.queue(queue);
    const now = this.clock.now();
    const ids: string[] = [];
    for (const [index, body] of bodies.entries()) {
      const id = uuidv7();
      const label = options.labels?.[index];
      if (label) this.store.jobs.set(label.jobId, { queue, packageId: id });
      state.entries.set(id, {
        id,
        ...(label ? { label } : {}),
        enqueuedAt: now,
        body: body.slice(),
        priority: options.priority ?? 0,
        sequence: this.store.sequence++,
        readyAt: now + (options.delayMs ?? 0),
        deliveries: 0,
      });
      ids.push(id);
    }
    wake(state);
    return ids;
  }

  async reserve(queue: string, options: ReserveOptions): Promise<Delivery[]> {
    this.checkOpen();
    const state = this.store.queue(queue);
    const deadline = this.clock.now() + options.waitMs;
    for (;;) {
      const taken = this.take(queue, state, options);
      if (taken.length > 0 || this.closed || options.signal?.aborted) return taken;
      const remaining = deadline - this.clock.now();
      if (remaining <= 0) return [];
      await this.waitForChange(state, Math.min(remaining, this.nextDueIn(state)), options.signal);
    }
  }

  async ack(delivery: Delivery): Promise<void> {
    const { state, entry } = this.leased(delivery);
    state.entries.delete(entry.id);
  }

  async release(delivery: Delivery, options: { delayMs?: number } = {}): Promise<void> {
    const { state, entry } = this.leased(delivery);
    entry.leaseToken = undefined;
    entry.lockedUntil = undefined;
    entry.readyAt = this.clock.now() + (options.delayMs ?? 0);
    wake(state);
  }

  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    const { state, entry } = this.leased(delivery);
    state.entries.delete(entry.id);
    entry.leaseToken = undefined;
    entry.lockedUntil = undefined;
    state.dead.set(entry.id, { entry, reason, deadAt: this.clock.now() });
  }

  async extend(delivery: Delivery, leaseMs: number): Promise<void> {
    const { entry } = this.leased(delivery);
    entry.lockedUntil = this.clock.now() + leaseMs;
  }

  async size(queue: string): Promise<QueueSize> {
    this.checkOpen();
    const state = this.store.queue(queue);
    const now = this.clock.now();
    const size = { ready: 0, delayed: 0, reserved: 0, dead: state.dead.size };
    for (const entry of state.entries.values()) {
      if (entry.leaseToken !== undefined && (entry.lockedUntil ?? 0) > now) size.reserved++;
      else if (entry.readyAt > now) size.delayed++;
      else size.ready++;
    }
    return size;
  }

  async purge(queue: string): Promise<number> {
    this.checkOpen();
    const state = this.store.queue(queue);
    let removed = 0;
    for (const entry of [...state.entries.values()]) {
      if (entry.leaseToken === undefined) {
        state.entries.delete(entry.id);
        removed++;
      }
    }
    return removed;
  }

  /** Dead-lettered packages of a queue with their reasons, for inspection in tests and tools. */
  deadLetters(queue: string): { id: string; body: Uint8Array; reason: string }[] {
    return [...this.store.queue(queue).dead.values()].map(({ entry, reason }) => ({
      id: entry.id,
      body: entry.body,
      reason,
    }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
  }

  private take(queue: string, state: QueueState, options: ReserveOptions): Delivery[] {
    const now = this.clock.now();
    const available: Entry[] = [];
    for (const entry of state.entries.values()) {
      const leased = entry.leaseToken !== undefined && (entry.lockedUntil ?? 0) > now;
      if (!leased && entry.readyAt <= now) available.push(entry);
    }
    available.sort((a, b) => b.priority - a.priority || a.sequence - b.sequence);
    return available.slice(0, options.max).map((entry) => {
      entry.deliveries += 1;
      entry.leaseToken = nodeCrypto().randomUUID();
      entry.lockedUntil = now + options.leaseMs;
      const receipt: MemoryReceipt = { id: entry.id, leaseToken: entry.leaseToken };
      return { id: entry.id, queue, body: entry.body.slice(), deliveries: entry.deliveries, receipt };
    });
  }

  /** Milliseconds until the next delayed entry or lease becomes available (capped, to re-check). */
  private nextDueIn(state: QueueState): number {
    const now = this.clock.now();
    let next = 60_000;
    for (const entry of state.entries.values()) {
      const at = entry.leaseToken !== undefined ? (entry.lockedUntil ?? now) : entry.readyAt;
      if (at > now) next = Math.min(next, at - now);
    }
    return Math.max(1, next);
  }

  private async waitForChange(state: QueueState, ms: number, signal?: AbortSignal): Promise<void> {
    const controller = new AbortController();
    const stop = () => controller.abort();
    state.waiters.add(stop);
    signal?.addEventListener('abort', stop, { once: true });
    this.closing.signal.addEventListener('abort', stop, { once: true });
    try {
      await this.clock.sleep(ms, controller.signal);
    } catch {
      // Woken by an enqueue, a release, an abort or close: the caller re-checks.
    } finally {
      state.waiters.delete(stop);
      signal?.removeEventListener('abort', stop);
      this.closing.signal.removeEventListener('abort', stop);
    }
  }

  private leased(delivery: Delivery): { state: QueueState; entry: Entry } {
    this.checkOpen();
    const receipt = delivery.receipt as MemoryReceipt;
    const state = this.store.queue(delivery.queue);
    const entry = state.entries.get(receipt?.id);
    if (!entry || entry.leaseToken !== receipt.leaseToken) {
      throw new LeaseLostError(
        `the lease on package ${delivery.id} has moved on (settled, or delivered again)`,
      );
    }
    return { state, entry };
  }

  private checkOpen(): void {
    if (this.closed) throw new BrokerConnectionError('the memory broker is closed');
  }
}

function wake(state: QueueState): void {
  for (const waiter of [...state.waiters]) waiter();
}
