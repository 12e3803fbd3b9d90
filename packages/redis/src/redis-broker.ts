import { randomBytes } from 'node:crypto';
import {
  BROKER_SPECIFICATION_VERSION,
  type Broker,
  type BrokerCapabilities,
  type Clock,
  type Delivery,
  type EnqueueOptions,
  InvalidArgumentError,
  type PackageLabel,
  type Logger,
  type QueueSize,
  type ReserveOptions,
  silentLogger,
} from '@tasq/core/backend';
import {
  closeClient,
  duplicateClient,
  openClient,
  type RedisClient,
  type RedisConnectionOptions,
} from './redis-connection.js';
import { RedisBrokerAdministration } from './redis-broker-administration.js';
import { leaseLost, mapRedisError, type RedisCall, redisCallsThrough } from './redis-errors.js';
import { deploymentPrefix, QueueKeys } from './redis-keys.js';
import { runScript, runScriptBuffer, runScriptPipeline } from './redis-scripts.js';
import {
  asBuffer,
  checkBodies,
  checkDuration,
  checkInteger,
  checkLabels,
  checkNonEmptyString,
} from './redis-validation.js';

/** Options of {@link RedisBroker}. */
export interface RedisBrokerOptions extends RedisConnectionOptions {
  /**
   * Time source for lease deadlines and due times. Default: the Redis server's own clock (TIME, read inside
   * each script), so producers and consumers on machines whose clocks disagree still agree on every
   * deadline. Give one only to drive time from tests.
   */
  clock?: Clock;
  logger?: Logger;
}

/**
 * Largest body accepted. Redis itself takes up to 512 MiB per value, but a package lives in server memory
 * and passes through a Lua call on every move: 16 MiB keeps one package from stalling the server for
 * everyone else. Larger data travels by reference.
 */
const MAX_PACKAGE_BYTES = 16 * 1024 * 1024;
/** Longest native delay or lease: ten years, far inside the 2^53 ms a sorted-set score holds exactly. */
const MAX_DELAY_MS = 10 * 365 * 24 * 3600 * 1000;
/** Most packages one reserve returns (and the size of each enqueue script call in a bulk enqueue). */
const MAX_BATCH = 1000;
/**
 * Packages per enqueue script call. A bulk enqueue sends its chunks in one pipeline: one round trip for
 * the whole bulk, while each script stays short (≈0.3 ms for 500 packages) so other clients are not
 * held up behind a long one.
 */
const ENQUEUE_CHUNK = 500;

/** Blocking connections kept for reuse once their wait is over; more concurrent waits open more, then close them. */
const MAX_IDLE_BLOCKING_CONNECTIONS = 8;

/** The broker's handle for one lease: the delivery count at reservation, which is also the lease token. */
class RedisReceipt {
  constructor(
    readonly owner: RedisBroker,
    readonly token: number,
  ) {}
}

/** An ack waiting to be sent with the others of its tick. */
interface PendingAck {
  delivery: Delivery;
  token: number;
  resolve(): void;
  reject(error: unknown): void;
}

/** One blocking connection and what cancels its wait. */
interface Waiter {
  connection: RedisClient;
  cancelled: boolean;
}

/**
 * Broker on Redis: per queue, a sorted set of ready ids (priority, then FIFO), a sorted set of leases
 * (id → deadline), a sorted set of delayed ids (id → due time), a hash per package, and a wake-up list
 * idle reservers block on. Every state change is one Lua script, so each step is atomic and costs one
 * round trip: enqueue 1 (or 1 per pipelined bulk), reserve 1 per batch, ack 1 per batch of acks issued in
 * the same tick. See README.md for why this layout and not Streams.
 */
export class RedisBroker implements Broker {
  readonly specificationVersion = BROKER_SPECIFICATION_VERSION;
  readonly name = 'redis';
  readonly capabilities: BrokerCapabilities = {
    receipts: true,
    extend: true,
    delay: { maxMs: MAX_DELAY_MS },
    priority: true,
    maxBatch: MAX_BATCH,
    fifo: true,
    maxPackageBytes: MAX_PACKAGE_BYTES,
    // Events and remote control travel over Redis PUBLISH/SUBSCRIBE: the plugin's `createPubSub`.
    pubsub: true,
  };

  /** The key prefix of this deployment. */
  readonly prefix: string;
  /**
   * Job administration: every part (lookup, browse, dead letters, remove, pause, cancel marks), from
   * indexes the scripts keep beside the queue (see README "Administration").
   */
  readonly administration: RedisBrokerAdministration;
  private readonly client: RedisClient;
  private readonly withErrors: RedisCall;
  private readonly ownsClient: boolean;
  private readonly clock: Clock | undefined;
  private readonly logger: Logger;
  private readonly queueKeys = new Map<string, QueueKeys>();
  /** Blocking connections not in use, reused by the next idle reserve. */
  private readonly idleConnections: RedisClient[] = [];
  private readonly activeWaiters = new Set<Waiter>();
  private readonly idPrefix = randomBytes(9).toString('base64url');
  private idCounter = 0;
  private closed = false;
  /** Acks waiting for the end of the current tick, per queue. */
  private readonly pendingAcks = new Map<string, { keys: QueueKeys; items: PendingAck[] }>();
  private ackFlushScheduled = false;

  /** Opens (or adopts) the client described by `options`; throws `InvalidArgumentError` for bad options. */
  constructor(options: RedisBrokerOptions = {}) {
    this.prefix = deploymentPrefix(options.prefix, options.deployment);
    this.clock = options.clock;
    this.logger = options.logger ?? silentLogger;
    const { client, owned } = openClient(options, this.logger);
    this.client = client;
    this.withErrors = redisCallsThrough(client);
    this.ownsClient = owned;
    this.administration = new RedisBrokerAdministration(this, client, this.withErrors);
  }

  /**
   * Store `bodies` on `queue`, one id per body in order. One script call per 500 bodies, all sent in a
   * single pipeline. Resolves when Redis holds them (as durable as the server's persistence settings).
   */
  async enqueue(
    queue: string,
    bodies: readonly Uint8Array[],
    options: EnqueueOptions = {},
  ): Promise<string[]> {
    const keys = this.keys(queue);
    checkBodies(bodies, MAX_PACKAGE_BYTES);
    const delayMs = checkDuration('delayMs', options.delayMs ?? 0, MAX_DELAY_MS);
    const priority = checkInteger('priority', options.priority ?? 0, 0, 9);
    this.checkOpen();
    if (bodies.length === 0) return [];
    const labels = checkLabels(options.labels, bodies.length);
    const ids = bodies.map(() => this.nextId());
    const now = this.now();
    const callArguments = (start: number) => {
      const end = Math.min(start + ENQUEUE_CHUNK, bodies.length);
      const list: (string | number | Buffer)[] = [
        keys.ready,
        keys.delayed,
        keys.wake,
        keys.sequence,
        keys.stored,
        keys.jobIds,
        now,
        delayMs,
        priority,
        keys.jobPrefix,
        labels ? '1' : '0',
      ];
      for (let index = start; index < end; index++) {
        list.push(ids[index] as string, asBuffer(bodies[index] as Uint8Array));
        if (labels) {
          const label = labels[index] as PackageLabel;
          list.push(label.jobId, label.task, label.expiresAt ?? '');
        }
      }
      return list;
    };
    // The queue joins the list `find` looks through: sent beside the first enqueue of each queue (and
    // again every few minutes), never as a round trip of its own.
    const registered = this.administration.register(queue);
    await this.withErrors('enqueue', async () => {
      if (bodies.length <= ENQUEUE_CHUNK) {
        await Promise.all([runScript(this.client, 'tasqEnqueue', ...callArguments(0)), registered]);
        return;
      }
      const calls = [];
      for (let start = 0; start < bodies.length; start += ENQUEUE_CHUNK) calls.push(callArguments(start));
      await Promise.all([runScriptPipeline(this.client, 'tasqEnqueue', calls), registered]);
    });
    return ids;
  }

  /**
   * Reserve up to `max` packages under a lease of `leaseMs`. When none is ready it blocks (BLPOP on the
   * queue's wake-up list, on a connection of its own) until an enqueue or release wakes it, the next
   * delayed package is due or a lease runs out, or `waitMs` passes: no polling while idle.
   */
  async reserve(queue: string, options: ReserveOptions): Promise<Delivery[]> {
    const keys = this.keys(queue);
    const max = checkInteger('max', options?.max, 1, MAX_BATCH);
    const leaseMs = checkDuration('leaseMs', options.leaseMs, MAX_DELAY_MS);
    if (leaseMs <= 0)
      throw new InvalidArgumentError(`leaseMs must be greater than 0, got ${options.leaseMs}`);
    const waitMs = checkDuration('waitMs', options.waitMs ?? 0, MAX_DELAY_MS);
    const { signal } = options;
    this.checkOpen();
    const waitUntil = performance.now() + waitMs;
    for (;;) {
      const reply = (await this.withErrors('reserve', () =>
        runScriptBuffer(
          this.client,
          'tasqReserve',
          keys.ready,
          keys.reserved,
          keys.delayed,
          keys.wake,
          keys.sequence,
          this.now(),
          leaseMs,
          max,
          keys.jobPrefix,
        ),
      )) as (number | Buffer)[];
      if (reply.length > 1) return this.toDeliveries(queue, reply);
      const remaining = waitUntil - performance.now();
      if (remaining <= 0 || this.closed || signal?.aborted) return [];
      const hint = reply[0] as number;
      const blockMs = hint > 0 ? Math.min(remaining, hint) : remaining;
      const woken = await this.waitForWake(keys.wake, blockMs, signal);
      if (!woken) return [];
    }
  }

  /**
   * Settle for good. `LeaseLostError` when the lease moved on. Acks issued in the same tick (a batch of
   * tasks finishing together) are sent as one script call per queue: one round trip for the batch.
   */
  ack(delivery: Delivery): Promise<void> {
    let target: { keys: QueueKeys; token: number };
    try {
      target = this.settleTarget(delivery);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      let batch = this.pendingAcks.get(delivery.queue);
      if (!batch) {
        batch = { keys: target.keys, items: [] };
        this.pendingAcks.set(delivery.queue, batch);
      }
      batch.items.push({ delivery, token: target.token, resolve, reject });
      if (!this.ackFlushScheduled) {
        this.ackFlushScheduled = true;
        process.nextTick(() => this.flushAcks());
      }
    });
  }

  /** Make the package deliverable again, now or after `delayMs`. `LeaseLostError` when the lease moved on. */
  async release(delivery: Delivery, options: { delayMs?: number } = {}): Promise<void> {
    const { keys, token } = this.settleTarget(delivery);
    const delayMs = checkDuration('delayMs', options.delayMs ?? 0, MAX_DELAY_MS);
    const released = await this.withErrors('release', () =>
      runScript(
        this.client,
        'tasqRelease',
        keys.reserved,
        keys.ready,
        keys.delayed,
        keys.wake,
        keys.sequence,
        keys.job(delivery.id),
        delivery.id,
        token,
        this.now(),
        delayMs,
      ),
    );
    if (released !== 1) throw leaseLost('release', delivery.queue, delivery.id, token);
  }

  /**
   * Move the package to the queue's dead list, keeping its body, delivery count, `reason` and time
   * (hash `<prefix>:{<queue>}:job:<id>`). `LeaseLostError` when the lease moved on.
   */
  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    const { keys, token } = this.settleTarget(delivery);
    if (typeof reason !== 'string') throw new InvalidArgumentError('deadLetter reason must be a string');
    const moved = await this.withErrors('deadLetter', () =>
      runScript(
        this.client,
        'tasqDeadLetter',
        keys.reserved,
        keys.deadAt,
        keys.job(delivery.id),
        keys.stored,
        keys.sequence,
        delivery.id,
        token,
        reason,
        this.now(),
      ),
    );
    if (moved !== 1) throw leaseLost('deadLetter', delivery.queue, delivery.id, token);
  }

  /** Set the lease to end `leaseMs` from now. `LeaseLostError` when the lease moved on. */
  async extend(delivery: Delivery, leaseMs: number): Promise<void> {
    const { keys, token } = this.settleTarget(delivery);
    const lease = checkDuration('leaseMs', leaseMs, MAX_DELAY_MS);
    const extended = await this.withErrors('extend', () =>
      runScript(
        this.client,
        'tasqExtend',
        keys.reserved,
        keys.job(delivery.id),
        delivery.id,
        token,
        this.now(),
        lease,
      ),
    );
    if (extended !== 1) throw leaseLost('extend', delivery.queue, delivery.id, token);
  }

  /** Counts as a reserver would see them now (due delayed packages and run-out leases count as ready). */
  async size(queue: string): Promise<QueueSize> {
    const keys = this.keys(queue);
    this.checkOpen();
    const [ready, delayed, reserved, dead] = (await this.withErrors('size', () =>
      runScript(
        this.client,
        'tasqSize',
        keys.ready,
        keys.delayed,
        keys.reserved,
        keys.dead,
        keys.deadAt,
        this.now(),
      ),
    )) as number[];
    return { ready: ready ?? 0, delayed: delayed ?? 0, reserved: reserved ?? 0, dead: dead ?? 0 };
  }

  /** Delete the ready and delayed packages of `queue`; reserved and dead ones stay. Returns how many. */
  async purge(queue: string): Promise<number> {
    const keys = this.keys(queue);
    this.checkOpen();
    return (await this.withErrors('purge', () =>
      runScript(this.client, 'tasqPurge', keys.ready, keys.delayed, keys.stored, keys.jobIds, keys.jobPrefix),
    )) as number;
  }

  /** End pending waits (their reserves resolve with nothing), close blocking connections and, when tasq opened it, the client. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Acks issued just before close still go out, ahead of QUIT.
    if (this.ackFlushScheduled) this.flushAcks();
    for (const waiter of this.activeWaiters) {
      waiter.cancelled = true;
      waiter.connection.disconnect();
    }
    const idle = this.idleConnections.splice(0);
    await Promise.all(idle.map((connection) => closeClient(connection)));
    if (this.ownsClient) await closeClient(this.client);
  }

  /** Send the acks gathered this tick: one script call per queue and per MAX_BATCH acks. */
  private flushAcks(): void {
    this.ackFlushScheduled = false;
    const batches = [...this.pendingAcks.values()];
    this.pendingAcks.clear();
    for (const { keys, items } of batches) {
      for (let start = 0; start < items.length; start += MAX_BATCH) {
        void this.sendAcks(keys, items.slice(start, start + MAX_BATCH));
      }
    }
  }

  private async sendAcks(keys: QueueKeys, items: PendingAck[]): Promise<void> {
    const callArguments: (string | number)[] = [items.length + 3, keys.reserved, keys.stored, keys.jobIds];
    for (const item of items) callArguments.push(keys.job(item.delivery.id));
    for (const item of items) callArguments.push(item.delivery.id, item.token);
    let outcomes: number[];
    try {
      outcomes = (await this.withErrors('ack', () =>
        runScript(this.client, 'tasqAck', ...callArguments),
      )) as number[];
    } catch (error) {
      for (const item of items) item.reject(error);
      return;
    }
    items.forEach((item, index) => {
      if (outcomes[index] === 1) item.resolve();
      else item.reject(leaseLost('ack', item.delivery.queue, item.delivery.id, item.token));
    });
  }

  /** @internal The keys of `queue` (checked), for the administration. */
  keys(queue: string): QueueKeys {
    let keys = this.queueKeys.get(queue);
    if (!keys) {
      keys = new QueueKeys(this.prefix, checkNonEmptyString('queue', queue));
      this.queueKeys.set(queue, keys);
    }
    return keys;
  }

  private settleTarget(delivery: Delivery): { keys: QueueKeys; token: number } {
    const receipt = delivery?.receipt;
    if (!(receipt instanceof RedisReceipt) || receipt.owner !== this) {
      throw new InvalidArgumentError('delivery was not reserved from this Redis broker');
    }
    this.checkOpen();
    return { keys: this.keys(delivery.queue), token: receipt.token };
  }

  private toDeliveries(queue: string, reply: (number | Buffer)[]): Delivery[] {
    const deliveries: Delivery[] = [];
    for (let index = 1; index + 2 < reply.length; index += 3) {
      const body = reply[index + 2] as Buffer;
      const count = Number(reply[index + 1]);
      deliveries.push({
        id: (reply[index] as Buffer).toString(),
        queue,
        body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
        deliveries: count,
        receipt: new RedisReceipt(this, count),
      });
    }
    return deliveries;
  }

  /**
   * Block on the wake-up list for up to `ms`. Resolves true to look again, false when aborted or closed.
   * A blocking command occupies its connection, so each concurrent wait holds one connection of its own
   * (reused afterwards); aborting disconnects that connection, the only way to end a BLPOP early.
   */
  private async waitForWake(wakeKey: string, ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    const connection = this.idleConnections.pop() ?? this.openBlockingConnection();
    const waiter: Waiter = { connection, cancelled: false };
    this.activeWaiters.add(waiter);
    const onAbort = () => {
      waiter.cancelled = true;
      connection.disconnect();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // BLPOP takes seconds with decimals; 0 would mean "forever", so never send less than 1 ms.
      await connection.blpop(wakeKey, (Math.max(ms, 1) / 1000).toFixed(3));
      return !waiter.cancelled;
    } catch (error) {
      if (waiter.cancelled) return false;
      throw mapRedisError(error, 'reserve', this.client);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.activeWaiters.delete(waiter);
      if (waiter.cancelled || this.closed || this.idleConnections.length >= MAX_IDLE_BLOCKING_CONNECTIONS) {
        connection.disconnect();
      } else {
        this.idleConnections.push(connection);
      }
    }
  }

  private openBlockingConnection(): RedisClient {
    const connection = duplicateClient(this.client, 'tasq-reserve');
    connection.on('error', (error: Error) =>
      this.logger.debug({ error: error.message }, 'redis blocking connection error'),
    );
    return connection;
  }

  /** @internal A new package id (also for a requeued dead letter). */
  nextId(): string {
    this.idCounter = (this.idCounter + 1) % Number.MAX_SAFE_INTEGER;
    return `${this.idPrefix}${this.idCounter.toString(36)}`;
  }

  /** @internal The `now` argument of the scripts: '' lets the script read the server's clock. */
  now(): number | string {
    return this.clock ? this.clock.now() : '';
  }

  /** @internal Throws when the broker is closed. */
  checkOpen(): void {
    if (this.closed) throw new InvalidArgumentError('the Redis broker is closed');
  }
}
