/**
 * The broker contract. Drawn around the weakest broker (SQS, AMQP, SQLite), not around Redis: it moves
 * opaque bytes under leases and knows nothing about tasks. `@tasq/testing`'s `brokerConformance` suite
 * is its executable definition; docs/broker-contract.md is its prose.
 */
import type { BrokerAdministration, PackageLabel } from './admin/broker-administration.js';

/** The version of this contract. The cluster refuses to load a broker that declares another. */
export const BROKER_SPECIFICATION_VERSION = 'tasq.broker/v1' as const;

/** What a broker can do. Core refuses a request that needs a missing capability before any network call. */
export interface BrokerCapabilities {
  /** A reserved, unacknowledged delivery comes back by itself after its lease expires. */
  readonly receipts: boolean;
  /** A lease can be prolonged while the task runs (`extend`). */
  readonly extend: boolean;
  /** Native delayed delivery up to `maxMs`; longer delays are re-delayed in hops by core. 0 = no delays. */
  readonly delay: { readonly maxMs: number };
  /** Higher `priority` values are reserved before lower ones. */
  readonly priority: boolean;
  /** The most packages one `reserve` may return. */
  readonly maxBatch: number;
  /**
   * Packages of equal priority are reserved in enqueue order (with one consumer; concurrent consumers
   * interleave). Absent or false: no ordering promise (SQS standard queues).
   */
  readonly fifo?: boolean;
  /** The largest body `enqueue` accepts, in bytes. Absent: no limit worth checking. */
  readonly maxPackageBytes?: number;
  /** Events and remote control can travel over this broker. */
  readonly pubsub: boolean;
}

export interface EnqueueOptions {
  /** Do not deliver before this many milliseconds from now. Must not exceed `capabilities.delay.maxMs`. */
  delayMs?: number;
  /** 0 (default) to 9; higher runs first. Only on brokers with `capabilities.priority`. */
  priority?: number;
  /**
   * One label per body, in body order: the job id, task name and expiry inside it, for brokers with an
   * `administration` capability to store beside the body (indexed). Other brokers ignore it.
   */
  labels?: readonly PackageLabel[];
}

export interface ReserveOptions {
  /** Return at most this many deliveries (1..capabilities.maxBatch). */
  max: number;
  /** The lease: how long the deliveries stay invisible to other consumers unless acked, released or extended. */
  leaseMs: number;
  /** How long to wait for a first package when the queue is empty. 0 = return at once. */
  waitMs: number;
  /** Aborting ends the wait early with whatever was reserved (usually nothing). */
  signal?: AbortSignal;
}

/** One reserved package. `receipt` is the broker's own handle for this lease; callers never look inside. */
export interface Delivery {
  /** The broker's stable id of the package (the same on every delivery of it). */
  readonly id: string;
  readonly queue: string;
  readonly body: Uint8Array;
  /** How many times this package has been delivered, this delivery included (first delivery = 1). */
  readonly deliveries: number;
  readonly receipt: unknown;
}

export interface QueueSize {
  /** Deliverable now. */
  ready: number;
  /** Waiting for their delay to pass. */
  delayed?: number;
  /** Reserved and not yet settled. */
  reserved?: number;
  /** Dead-lettered from this queue. */
  dead?: number;
}

/**
 * A broker moves packages between producers and consumers with at-least-once delivery where it has
 * receipts. Every method may throw `BrokerConnectionError` (retryable); settle methods may throw
 * `LeaseLostError`. No method has a default that lies: what a broker cannot do, it says in `capabilities`.
 */
export interface Broker {
  readonly specificationVersion: typeof BROKER_SPECIFICATION_VERSION;
  /** Short name for logs and errors ("redis", "postgres", "memory"). */
  readonly name: string;
  readonly capabilities: BrokerCapabilities;

  /**
   * Store packages on `queue`; resolves once the broker holds them durably (as durable as it is), with one
   * id per body, in order. All bodies get the same options. Not idempotent: calling twice stores twice.
   */
  enqueue(queue: string, bodies: readonly Uint8Array[], options?: EnqueueOptions): Promise<string[]>;

  /**
   * Take up to `max` ready packages under a lease of `leaseMs`. Waits up to `waitMs` for the first one
   * when the queue is empty (without busy polling where the broker can block or be notified), then
   * returns what it has. Packages of equal priority come out in enqueue order where the broker keeps order.
   */
  reserve(queue: string, options: ReserveOptions): Promise<Delivery[]>;

  /** Done: never deliver this package again. `LeaseLostError` if the lease moved on. */
  ack(delivery: Delivery): Promise<void>;

  /** Give the package back: deliverable again now, or after `delayMs`. `LeaseLostError` if the lease moved on. */
  release(delivery: Delivery, options?: { delayMs?: number }): Promise<void>;

  /**
   * Take the package out of the queue for good but keep it, with `reason`, where an operator can count
   * and inspect it (`size().dead`). `LeaseLostError` if the lease moved on.
   */
  deadLetter(delivery: Delivery, reason: string): Promise<void>;

  /** Prolong the lease to `leaseMs` from now. `LeaseLostError` if the lease moved on. */
  extend(delivery: Delivery, leaseMs: number): Promise<void>;

  /** Counts for `queue`; fields the broker cannot count are left out. */
  size(queue: string): Promise<QueueSize>;

  /** Delete every ready and delayed package of `queue`; returns how many were removed. */
  purge(queue: string): Promise<number>;

  /** Release connections and end pending waits (they resolve with no deliveries). Idempotent. */
  close(): Promise<void>;

  /**
   * Optional: job administration (look up, browse, dead letters, remove, pause flags, cancel marks),
   * each part declared by a flag in `administration.capabilities`. Absent: the broker offers none of it.
   */
  readonly administration?: BrokerAdministration;
}
