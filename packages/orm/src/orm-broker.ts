/**
 * The SQL broker: packages are rows, a claim is one atomic statement, a lease is `visible_at` in the
 * future plus a random lease token that every settle call must match.
 */
import { randomUUID } from 'node:crypto';
import {
  BROKER_SPECIFICATION_VERSION,
  type Broker,
  type BrokerCapabilities,
  type Clock,
  type Delivery,
  type EnqueueOptions,
  InvalidArgumentError,
  LeaseLostError,
  type PackageLabel,
  type QueueSize,
  type ReserveOptions,
  systemClock,
} from '@tasq/core/backend';
import { OrmBrokerAdministration } from './orm-broker-administration.js';
import { SettleCoalescer } from './settle-coalescer.js';
import type { ReleasedLease, Row, SqlDialect } from './dialect.js';
import { mapDatabaseError } from './orm-errors.js';

/** The lease a delivery was given; compared on every settle call. */
interface OrmReceipt {
  readonly token: string;
}

/** Most packages one reserve may return: one claim statement, one round trip. */
const maxBatch = 1_000;
/** A delay is stored as a due time; ten years is past any real delay and keeps the due time a safe integer. */
const maxDelayMs = 10 * 365 * 24 * 60 * 60 * 1_000;

function receiptOf(delivery: Delivery): OrmReceipt {
  const receipt = delivery?.receipt as OrmReceipt | undefined;
  if (!receipt || typeof receipt.token !== 'string') {
    throw new InvalidArgumentError(
      'delivery was not reserved from an orm broker (its receipt has no lease token)',
    );
  }
  return receipt;
}

function checkQueue(queue: unknown): asserts queue is string {
  if (typeof queue !== 'string' || queue.length === 0 || queue.length > 200) {
    throw new InvalidArgumentError(
      `queue name must be a string of 1 to 200 characters, got ${JSON.stringify(queue)}`,
    );
  }
}

function checkMilliseconds(
  name: string,
  value: unknown,
  minimum: number,
  maximum = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < minimum || value > maximum) {
    throw new InvalidArgumentError(
      `${name} must be a number of milliseconds from ${minimum} to ${maximum}, got ${String(value)}`,
    );
  }
  return Math.trunc(value);
}

/** Labels are optional; when given, one per body, each with a job id and a task name. */
function checkLabels(
  labels: readonly PackageLabel[] | undefined,
  count: number,
): readonly PackageLabel[] | undefined {
  if (labels === undefined) return undefined;
  if (!Array.isArray(labels) || labels.length !== count) {
    throw new InvalidArgumentError('enqueue labels must be a list with one label per body');
  }
  for (const label of labels) {
    if (typeof label?.jobId !== 'string' || typeof label.task !== 'string') {
      throw new InvalidArgumentError('each enqueue label needs a jobId and a task name (strings)');
    }
  }
  return labels;
}

export function toBytes(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) {
    // pg returns Buffers; hand out plain Uint8Arrays over the same memory.
    return Buffer.isBuffer(body) ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength) : body;
  }
  throw new Error('package body column did not hold bytes');
}

export interface OrmBrokerOptions {
  clock?: Clock;
}

/**
 * A broker over a SQL table (PostgreSQL or SQLite). Obtain one through the package's default plugin
 * or `createOrmBroker(options)`; the constructor takes an opened dialect.
 */
export class OrmBroker implements Broker {
  readonly specificationVersion = BROKER_SPECIFICATION_VERSION;
  readonly name: string;
  readonly capabilities: BrokerCapabilities;
  readonly administration: OrmBrokerAdministration;
  private readonly clock: Clock;
  private readonly closing = new AbortController();
  private closed: Promise<void> | undefined;
  private readonly acks: SettleCoalescer;
  private readonly releases: SettleCoalescer<ReleasedLease>;

  constructor(
    private readonly dialect: SqlDialect,
    options: OrmBrokerOptions = {},
  ) {
    this.name = dialect.kind;
    this.capabilities = {
      receipts: true,
      extend: true,
      delay: { maxMs: maxDelayMs },
      priority: true,
      maxBatch,
      // Claims order by priority, then visible_at, then id: enqueue order within a priority.
      fifo: true,
      // The plugin's createPubSub: NOTIFY on PostgreSQL, a messages table on SQLite.
      pubsub: true,
    };
    this.clock = options.clock ?? systemClock;
    this.administration = new OrmBrokerAdministration(dialect, this.clock, () => this.assertOpen());
    this.acks = new SettleCoalescer((leases) => dialect.ackPackages(leases));
    this.releases = new SettleCoalescer<ReleasedLease>((leases) => dialect.releasePackages(leases));
  }

  /** Store packages with one statement (PostgreSQL) or one transaction (SQLite); ids in body order. */
  async enqueue(
    queue: string,
    bodies: readonly Uint8Array[],
    options: EnqueueOptions = {},
  ): Promise<string[]> {
    checkQueue(queue);
    if (!Array.isArray(bodies) || bodies.some((body) => !(body instanceof Uint8Array))) {
      throw new InvalidArgumentError('bodies must be an array of Uint8Array');
    }
    const delayMs = checkMilliseconds('delayMs', options.delayMs ?? 0, 0, maxDelayMs);
    const priority = options.priority ?? 0;
    if (!Number.isInteger(priority) || priority < 0 || priority > 9) {
      throw new InvalidArgumentError(`priority must be an integer from 0 to 9, got ${String(priority)}`);
    }
    if (bodies.length === 0) return [];
    this.assertOpen();
    const now = this.clock.now();
    try {
      return await this.dialect.insertPackages({
        queue,
        bodies,
        labels: checkLabels(options.labels, bodies.length),
        priority,
        visibleAt: now + delayMs,
        now,
      });
    } catch (error) {
      throw mapDatabaseError(error, `enqueue on queue "${queue}"`, this.dialect.address);
    }
  }

  /**
   * Claim up to `max` packages. When none is ready, waits for a wake-up (NOTIFY on PostgreSQL, a write
   * in this process on SQLite), the moment the next delayed package or expiring lease becomes
   * claimable, or the poll interval, whichever comes first, until `waitMs` has passed.
   */
  async reserve(queue: string, options: ReserveOptions): Promise<Delivery[]> {
    checkQueue(queue);
    const max = options?.max;
    if (!Number.isInteger(max) || max < 1 || max > maxBatch) {
      throw new InvalidArgumentError(`max must be an integer from 1 to ${maxBatch}, got ${String(max)}`);
    }
    const leaseMs = checkMilliseconds('leaseMs', options.leaseMs, 1);
    const waitMs = checkMilliseconds('waitMs', options.waitMs ?? 0, 0);
    this.assertOpen();
    const signal = options.signal
      ? AbortSignal.any([options.signal, this.closing.signal])
      : this.closing.signal;
    const deadline = this.clock.now() + waitMs;
    const wakeup = waitMs > 0 ? await this.dialect.subscribe('packages', queue) : undefined;
    try {
      for (;;) {
        const deliveries = await this.claim(queue, max, leaseMs);
        if (deliveries.length > 0 || !wakeup || signal.aborted) return deliveries;
        const now = this.clock.now();
        if (now >= deadline) return [];
        let sleepMs = Math.min(deadline - now, this.dialect.pollMs);
        const next = await this.nextVisible(queue);
        if (next !== undefined) sleepMs = Math.min(sleepMs, Math.max(0, next - now));
        await wakeup.wait(sleepMs, signal);
        if (signal.aborted) return [];
      }
    } finally {
      wakeup?.close();
    }
  }

  private async claim(queue: string, max: number, leaseMs: number): Promise<Delivery[]> {
    // One token for the batch; a receipt is (id, token), unique per claim.
    const token = randomUUID();
    let rows: Row[];
    try {
      rows = await this.dialect.claimPackages({ queue, now: this.clock.now(), max, leaseMs, token });
    } catch (error) {
      throw mapDatabaseError(error, `reserve on queue "${queue}"`, this.dialect.address);
    }
    return rows
      .map((row) => ({
        id: String(row.id),
        priority: Number(row.priority),
        order: BigInt(row.id as string | number),
        delivery: {
          id: String(row.id),
          queue,
          body: toBytes(row.body),
          deliveries: Number(row.deliveries),
          receipt: { token } as OrmReceipt,
        },
      }))
      .sort((a, b) => b.priority - a.priority || (a.order < b.order ? -1 : a.order > b.order ? 1 : 0))
      .map((entry) => entry.delivery);
  }

  private async nextVisible(queue: string): Promise<number | undefined> {
    try {
      const { rows } = await this.dialect.execute('next-visible', { queue });
      const next = rows[0]?.next;
      return next === null || next === undefined ? undefined : Number(next);
    } catch (error) {
      throw mapDatabaseError(error, `reserve on queue "${queue}"`, this.dialect.address);
    }
  }

  /**
   * Delete the package. `LeaseLostError` when its lease moved on (redelivered or already settled). Acks
   * made in the same turn of the event loop share one statement and one commit.
   */
  async ack(delivery: Delivery): Promise<void> {
    const { token } = receiptOf(delivery);
    await this.settle(delivery, 'ack', async () => ({
      rowCount: (await this.acks.settle({ id: delivery.id, token })) ? 1 : 0,
    }));
  }

  /**
   * Make the package claimable again now or after `delayMs`; its delivery count keeps counting. Releases
   * made in the same turn of the event loop share one statement and one commit (and, on PostgreSQL, one
   * notification per queue).
   */
  async release(delivery: Delivery, options: { delayMs?: number } = {}): Promise<void> {
    const { token } = receiptOf(delivery);
    const delayMs = checkMilliseconds('delayMs', options.delayMs ?? 0, 0, maxDelayMs);
    const visibleAt = this.clock.now() + delayMs;
    await this.settle(delivery, 'release', async () => ({
      rowCount: (await this.releases.settle({ id: delivery.id, token, queue: delivery.queue, visibleAt }))
        ? 1
        : 0,
    }));
  }

  /** Keep the package, with `reason`, out of the queue (counted in `size().dead`). */
  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    const { token } = receiptOf(delivery);
    if (typeof reason !== 'string') throw new InvalidArgumentError('deadLetter reason must be a string');
    await this.settle(delivery, 'deadLetter', () =>
      this.dialect.execute('dead-letter', { id: delivery.id, token, now: this.clock.now(), reason }),
    );
  }

  /** Move the lease end to `leaseMs` from now. */
  async extend(delivery: Delivery, leaseMs: number): Promise<void> {
    const { token } = receiptOf(delivery);
    const lease = checkMilliseconds('leaseMs', leaseMs, 1);
    await this.settle(delivery, 'extend', () =>
      this.dialect.execute('extend', { id: delivery.id, token, visible_at: this.clock.now() + lease }),
    );
  }

  private async settle(
    delivery: Delivery,
    operation: string,
    statement: () => Promise<{ rowCount: number }>,
  ): Promise<void> {
    this.assertOpen();
    let changed: number;
    try {
      changed = (await statement()).rowCount;
    } catch (error) {
      throw mapDatabaseError(
        error,
        `${operation} of package ${delivery.id} on queue "${delivery.queue}"`,
        this.dialect.address,
      );
    }
    if (changed === 0) {
      throw new LeaseLostError(
        `${operation} of package ${delivery.id} on queue "${delivery.queue}": the lease moved on ` +
          '(it expired and the package was delivered again, or it was already settled)',
      );
    }
  }

  /** Ready, delayed, reserved and dead counts of `queue` (one aggregate over the queue's rows). */
  async size(queue: string): Promise<QueueSize> {
    checkQueue(queue);
    this.assertOpen();
    try {
      const { rows } = await this.dialect.execute('size', { queue, now: this.clock.now() });
      const row = rows[0] ?? {};
      return {
        ready: Number(row.ready ?? 0),
        delayed: Number(row.delayed ?? 0),
        reserved: Number(row.reserved ?? 0),
        dead: Number(row.dead ?? 0),
      };
    } catch (error) {
      throw mapDatabaseError(error, `size of queue "${queue}"`, this.dialect.address);
    }
  }

  /** Delete the ready and delayed packages of `queue` (not held leases, not dead ones); returns how many. */
  async purge(queue: string): Promise<number> {
    checkQueue(queue);
    this.assertOpen();
    try {
      return (await this.dialect.execute('purge', { queue, now: this.clock.now() })).rowCount;
    } catch (error) {
      throw mapDatabaseError(error, `purge of queue "${queue}"`, this.dialect.address);
    }
  }

  /** End pending reserves (they return what they have, usually nothing) and release the connection. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort();
      await Promise.all([this.acks.drain(), this.releases.drain()]);
      await this.dialect.release();
    })();
    return this.closed;
  }

  private assertOpen(): void {
    if (this.closing.signal.aborted) throw new InvalidArgumentError(`the ${this.name} broker is closed`);
  }
}
