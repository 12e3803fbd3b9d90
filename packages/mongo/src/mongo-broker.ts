/**
 * The MongoDB broker. Every package is one document in `<prefix>packages`; a claim is one atomic
 * `findOneAndUpdate` (or, for a batch, `find` + `updateMany` + read-back by claim token) that sets
 * `lockedUntil` and a fresh `leaseToken`. Receipts carry that token, so a settle from a lease that has
 * moved on matches no document and raises `LeaseLostError`.
 */
import { randomUUID } from 'node:crypto';
import {
  BROKER_SPECIFICATION_VERSION,
  type Broker,
  type BrokerCapabilities,
  BrokerConnectionError,
  type Clock,
  type Delivery,
  type EnqueueOptions,
  InvalidArgumentError,
  type Logger,
  type PackageLabel,
  type QueueSize,
  type ReserveOptions,
  silentLogger,
  systemClock,
} from '@tasq/core/backend';
import type { Collection, Filter, UpdateFilter } from 'mongodb';
import {
  type CancelMarkDocument,
  MongoBrokerAdministration,
  type QueueFlagDocument,
} from './mongo-broker-administration.js';
import { ChangeNotifier, sleepUntilChanged } from './mongo-change-notifier.js';
import { CLAIM_SORT, ensureIndexes, PACKAGE_CLAIM_INDEX, PACKAGE_INDEXES } from './mongo-collections.js';
import { MongoConnection } from './mongo-connection.js';
import {
  DEAD_LETTER_LOCK,
  deliveryFromDocument,
  newPackageDocument,
  type PackageDocument,
  leaseOf,
} from './mongo-documents.js';
import { leaseLost, mapDriverErrors } from './mongo-errors.js';
import { type MongoOptions, resolveMongoOptions } from './mongo-options.js';

/**
 * What the MongoDB broker can do. `maxPackageBytes` is 15 MiB: a document may be 16 MiB, and the insert's
 * change event (which carries the whole document before it is projected) must fit in 16 MiB as well.
 */
export const MONGO_BROKER_CAPABILITIES: BrokerCapabilities = {
  receipts: true,
  extend: true,
  // Delays are a stored time, so any delay works; a hundred years keeps `now + delay` an exact integer.
  delay: { maxMs: 100 * 365 * 24 * 60 * 60 * 1000 },
  priority: true,
  fifo: true,
  maxBatch: 100,
  maxPackageBytes: 15 * 1024 * 1024,
  pubsub: false,
};

/**
 * Claims name their index: the planner could otherwise pick the lease index (a range on `lockedUntil`
 * followed by an in-memory sort of every ready package) when a trial run happens to favour it.
 */
const CLAIM_HINT = PACKAGE_CLAIM_INDEX.key;

/** How often a batch claim that lost every candidate to other consumers retries at once before it waits. */
const CONTENDED_CLAIM_RETRIES = 3;

/** What the broker, result backend and schedule store take from the plugin context. */
export interface MongoRuntime {
  /** The deployment name (configuration `name`): any but "default" gets collections of its own. */
  deployment?: string;
  clock?: Clock;
  logger?: Logger;
}

export class MongoBroker implements Broker {
  readonly specificationVersion = BROKER_SPECIFICATION_VERSION;
  readonly name = 'mongo';
  readonly capabilities = MONGO_BROKER_CAPABILITIES;
  /** Job administration: every part, each read served by an index (see mongo-collections.ts). */
  readonly administration: MongoBrokerAdministration;

  private readonly packages: Collection<PackageDocument>;
  private readonly closing = new AbortController();
  private closed = false;

  private constructor(
    private readonly connection: MongoConnection,
    private readonly notifier: ChangeNotifier | undefined,
    private readonly clock: Clock,
  ) {
    this.packages = connection.database.collection<PackageDocument>(connection.collections.packages);
    this.administration = new MongoBrokerAdministration(
      this.packages,
      connection.database.collection<QueueFlagDocument>(connection.collections.queueFlags),
      connection.database.collection<CancelMarkDocument>(connection.collections.cancelMarks),
      clock,
      () => this.checkOpen(),
    );
  }

  /**
   * Connect, create the indexes (idempotent), and open a change stream when the deployment has them.
   * Throws `ConfigError` for bad options and `BrokerConnectionError` when the server cannot be reached.
   */
  static async open(
    options: MongoOptions | string | undefined,
    runtime: MongoRuntime = {},
  ): Promise<MongoBroker> {
    const resolved = resolveMongoOptions(options, runtime.deployment);
    const logger = runtime.logger ?? silentLogger;
    const connection = await MongoConnection.open(resolved);
    try {
      await mapDriverErrors('create package indexes', () =>
        ensureIndexes(connection.database, connection.collections.packages, PACKAGE_INDEXES),
      );
      let notifier: ChangeNotifier | undefined;
      if (await connection.useChangeStreams()) {
        notifier = new ChangeNotifier(
          connection.database.collection(connection.collections.packages),
          PACKAGE_CHANGES_PIPELINE,
          (event) => (event.operationType === 'insert' ? event.fullDocument?.queue : undefined),
          logger,
        );
        await notifier.start();
      }
      logger.debug(
        { database: resolved.database, changeStreams: notifier !== undefined },
        'mongo broker connected',
      );
      return new MongoBroker(connection, notifier, runtime.clock ?? systemClock);
    } catch (error) {
      await connection.close();
      throw error;
    }
  }

  /** Whether idle reserves are woken by a change stream (true) or only by polling (false). */
  get changeStreamsActive(): boolean {
    return this.notifier?.active ?? false;
  }

  /** Insert one document per body, in order, in one `insertMany`. Not idempotent. */
  async enqueue(
    queue: string,
    bodies: readonly Uint8Array[],
    options: EnqueueOptions = {},
  ): Promise<string[]> {
    this.checkOpen();
    if (bodies.length === 0) return [];
    const now = this.clock.now();
    const runAt = now + (options.delayMs ?? 0);
    const priority = options.priority ?? 0;
    const labels = checkLabels(options.labels, bodies.length);
    const documents = bodies.map((body, index) => {
      if (!(body instanceof Uint8Array)) {
        throw new InvalidArgumentError(`enqueue: body ${index} is not a Uint8Array (got ${typeof body})`);
      }
      return newPackageDocument(queue, body, { priority, runAt, now, label: labels?.[index] });
    });
    await mapDriverErrors(`enqueue on queue "${queue}"`, () =>
      this.packages.insertMany(documents, { ordered: true }),
    );
    return documents.map((document) => document._id.toHexString());
  }

  /**
   * Claim up to `max` packages. When none is ready, wait: woken at once by a change event where the
   * deployment has change streams, and every `poll` milliseconds in any case (delays ending and leases
   * expiring make packages ready without any write to announce it).
   */
  async reserve(queue: string, options: ReserveOptions): Promise<Delivery[]> {
    this.checkOpen();
    const signal = options.signal
      ? AbortSignal.any([options.signal, this.closing.signal])
      : this.closing.signal;
    const deadline = this.clock.now() + options.waitMs;
    for (;;) {
      // Registered before the claim, so an insert landing between the claim and the wait still wakes it.
      const change = this.notifier?.active ? this.notifier.next(queue) : undefined;
      try {
        let claimed: Delivery[];
        try {
          claimed = await this.claim(queue, options.max, options.leaseMs);
        } catch (error) {
          if (this.closed) return [];
          throw error;
        }
        if (claimed.length > 0 || signal.aborted) return claimed;
        const remaining = deadline - this.clock.now();
        if (remaining <= 0) return [];
        await sleepUntilChanged(
          this.clock,
          Math.min(remaining, this.connection.options.poll),
          change?.changed,
          signal,
        );
        if (signal.aborted) return [];
      } finally {
        change?.cancel();
      }
    }
  }

  /** Delete the package. `LeaseLostError` when the lease token no longer matches. */
  async ack(delivery: Delivery): Promise<void> {
    this.checkOpen();
    const lease = leaseOf(delivery);
    const outcome = await mapDriverErrors(`ack on queue "${delivery.queue}"`, () =>
      this.packages.deleteOne(lease),
    );
    if (outcome.deletedCount === 0) throw leaseLost('ack', delivery.id, delivery.queue);
  }

  /** Unlock the package, deliverable again now or after `delayMs`. `LeaseLostError` when the lease moved on. */
  async release(delivery: Delivery, options: { delayMs?: number } = {}): Promise<void> {
    this.checkOpen();
    const runAt = this.clock.now() + (options.delayMs ?? 0);
    await this.settle('release', delivery, {
      $set: { lockedUntil: 0, runAt },
      $unset: { leaseToken: '' },
    });
  }

  /** Keep the package, with `reason`, where no claim reaches it; counted in `size().dead`. */
  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    this.checkOpen();
    await this.settle('deadLetter', delivery, {
      $set: { lockedUntil: DEAD_LETTER_LOCK, deadLetter: { reason: String(reason), at: this.clock.now() } },
      $unset: { leaseToken: '' },
    });
  }

  /** Move the lease's end to `leaseMs` from now. `LeaseLostError` when the lease moved on. */
  async extend(delivery: Delivery, leaseMs: number): Promise<void> {
    this.checkOpen();
    await this.settle('extend', delivery, { $set: { lockedUntil: this.clock.now() + leaseMs } });
  }

  /** Ready, delayed, reserved and dead counts, each an index-served count. */
  async size(queue: string): Promise<QueueSize> {
    this.checkOpen();
    const now = this.clock.now();
    const count = (filter: Filter<PackageDocument>) => this.packages.countDocuments({ queue, ...filter });
    const [ready, delayed, reserved, dead] = await mapDriverErrors(`size of queue "${queue}"`, () =>
      Promise.all([
        count({ lockedUntil: { $lte: now }, runAt: { $lte: now } }),
        count({ lockedUntil: { $lte: now }, runAt: { $gt: now } }),
        count({ lockedUntil: { $gt: now, $lt: DEAD_LETTER_LOCK } }),
        count({ lockedUntil: DEAD_LETTER_LOCK }),
      ]),
    );
    return { ready, delayed, reserved, dead };
  }

  /** Delete every ready and delayed package (not reserved ones, not dead letters). */
  async purge(queue: string): Promise<number> {
    this.checkOpen();
    const now = this.clock.now();
    const outcome = await mapDriverErrors(`purge of queue "${queue}"`, () =>
      this.packages.deleteMany({ queue, lockedUntil: { $lte: now } }),
    );
    return outcome.deletedCount;
  }

  /** Dead-lettered packages of `queue` with their reasons, oldest first, for operators and tools. */
  async deadLetters(queue: string, limit = 100): Promise<{ id: string; reason: string; at: number }[]> {
    this.checkOpen();
    const documents = await mapDriverErrors(`dead letters of queue "${queue}"`, () =>
      this.packages
        .find({ queue, lockedUntil: DEAD_LETTER_LOCK }, { projection: { body: 0 }, sort: { _id: 1 }, limit })
        .toArray(),
    );
    return documents.map((document) => ({
      id: document._id.toHexString(),
      reason: document.deadLetter?.reason ?? '',
      at: document.deadLetter?.at ?? 0,
    }));
  }

  /** End pending reserves (they resolve with no deliveries), close the change stream and the client. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    await this.notifier?.close();
    await this.connection.close();
  }

  private async claim(queue: string, max: number, leaseMs: number): Promise<Delivery[]> {
    return max <= 1 ? this.claimOne(queue, leaseMs) : this.claimBatch(queue, max, leaseMs);
  }

  /** One atomic findOneAndUpdate: the server picks, locks and returns the first free package. */
  private async claimOne(queue: string, leaseMs: number): Promise<Delivery[]> {
    const now = this.clock.now();
    const claimed = await mapDriverErrors(`reserve on queue "${queue}"`, () =>
      this.packages.findOneAndUpdate(claimableFilter(queue, now), leaseUpdate(now, leaseMs, randomUUID()), {
        sort: CLAIM_SORT,
        hint: CLAIM_HINT,
        returnDocument: 'after',
      }),
    );
    return claimed ? [deliveryFromDocument(claimed)] : [];
  }

  /**
   * Pick candidates in claim order, lock those still free with one `updateMany` under a fresh claim token,
   * and read back the ones carrying the token: the ones this call won. Three round trips for up to
   * `maxBatch` packages instead of one per package. `updateMany` is not a retryable write: after a network
   * error mid-claim, the packages it locked come back when their lease ends.
   */
  private async claimBatch(queue: string, max: number, leaseMs: number): Promise<Delivery[]> {
    for (let attempt = 0; attempt < CONTENDED_CLAIM_RETRIES; attempt++) {
      const now = this.clock.now();
      const claimToken = randomUUID();
      const operation = `reserve on queue "${queue}"`;
      const candidates = await mapDriverErrors(operation, () =>
        this.packages
          .find(claimableFilter(queue, now), {
            projection: { _id: 1 },
            sort: CLAIM_SORT,
            hint: CLAIM_HINT,
            limit: max,
          })
          .toArray(),
      );
      if (candidates.length === 0) return [];
      const ids = candidates.map((candidate) => candidate._id);
      await mapDriverErrors(operation, () =>
        this.packages.updateMany(
          { _id: { $in: ids }, lockedUntil: { $lte: now }, runAt: { $lte: now } },
          leaseUpdate(now, leaseMs, claimToken),
        ),
      );
      const won = await mapDriverErrors(operation, () =>
        this.packages.find({ _id: { $in: ids }, leaseToken: claimToken }).toArray(),
      );
      if (won.length > 0) {
        const order = new Map(ids.map((id, index) => [id.toHexString(), index]));
        won.sort((a, b) => order.get(a._id.toHexString())! - order.get(b._id.toHexString())!);
        return won.map(deliveryFromDocument);
      }
      // Every candidate went to another consumer between the find and the update: try again at once.
    }
    return [];
  }

  private async settle(
    operation: 'release' | 'deadLetter' | 'extend',
    delivery: Delivery,
    update: UpdateFilter<PackageDocument>,
  ): Promise<void> {
    const lease = leaseOf(delivery);
    const outcome = await mapDriverErrors(`${operation} on queue "${delivery.queue}"`, () =>
      this.packages.updateOne(lease, update),
    );
    if (outcome.matchedCount === 0) throw leaseLost(operation, delivery.id, delivery.queue);
  }

  private checkOpen(): void {
    if (this.closed) throw new BrokerConnectionError('mongo broker is closed');
  }
}

/** Packages of `queue` that are due and not locked (expired leases included; dead letters never). */
/** Labels are optional; when given, one per body, each with a job id and a task name. */
function checkLabels(labels: unknown, count: number): readonly PackageLabel[] | undefined {
  if (labels === undefined) return undefined;
  if (!Array.isArray(labels) || labels.length !== count) {
    throw new InvalidArgumentError('enqueue labels must be a list with one label per body');
  }
  for (const label of labels as PackageLabel[]) {
    if (typeof label?.jobId !== 'string' || typeof label.task !== 'string') {
      throw new InvalidArgumentError('each enqueue label needs a jobId and a task name (strings)');
    }
  }
  return labels as PackageLabel[];
}

function claimableFilter(queue: string, now: number): Filter<PackageDocument> {
  return { queue, runAt: { $lte: now }, lockedUntil: { $lte: now } };
}

function leaseUpdate(now: number, leaseMs: number, leaseToken: string): UpdateFilter<PackageDocument> {
  return { $set: { lockedUntil: now + leaseMs, leaseToken }, $inc: { deliveries: 1 } };
}

/**
 * Change events that can make a package claimable: inserts (named by queue), and releases (`lockedUntil`
 * set back to 0; the event does not name the queue, so every waiter re-checks). Projected down to the
 * queue name so a large body never travels to the waiters.
 */
const PACKAGE_CHANGES_PIPELINE = [
  {
    $match: {
      $or: [
        { operationType: 'insert' },
        { operationType: 'update', 'updateDescription.updatedFields.lockedUntil': 0 },
      ],
    },
  },
  { $project: { operationType: 1, 'fullDocument.queue': 1 } },
];
