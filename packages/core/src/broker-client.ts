/**
 * The facade every broker call goes through. It holds what would otherwise be repeated in each broker:
 * argument checks, capability checks (before any network call), a deadline on every call so a paused
 * server cannot hang a caller forever, and mapping of stray errors into the closed set. The runtime and
 * the client never call a broker directly.
 */
import type {
  Broker,
  BrokerCapabilities,
  Delivery,
  EnqueueOptions,
  QueueSize,
  ReserveOptions,
} from './broker.js';
import {
  BrokerConnectionError,
  BrokerError,
  CapabilityError,
  InvalidArgumentError,
  PackageTooLargeError,
  TasqError,
} from './errors.js';
import { DeadlineSlots } from './deadline-slots.js';

/** Letters, digits, `_`, `-`, `.` and `:`; at most 80 characters: a name every broker can use as is. */
const QUEUE_NAME = /^[A-Za-z0-9_.:-]{1,80}$/;

export type BrokerOperation =
  | 'enqueue'
  | 'reserve'
  | 'ack'
  | 'release'
  | 'deadLetter'
  | 'extend'
  | 'size'
  | 'purge';

export interface BrokerCallEvent {
  operation: BrokerOperation;
  durationMs: number;
  error?: Error;
}

export interface BrokerClientOptions {
  /** Deadline for one call, added to `waitMs` for reserve. Default 10 s. */
  callTimeoutMs?: number;
  /** Called after every call; for metrics. Must not throw. */
  onCall?: (event: BrokerCallEvent) => void;
}

export interface ClientEnqueueOptions extends EnqueueOptions {
  /**
   * The packages carry their own due time (`eta`), so a delay longer than the broker's native maximum
   * may be shortened to that maximum: the consumer re-delays the rest in hops. Without this flag a too
   * long delay is a CapabilityError.
   */
  allowDelayHops?: boolean;
}

export class BrokerClient {
  readonly broker: Broker;
  private readonly callTimeoutMs: number;
  private readonly onCall: ((event: BrokerCallEvent) => void) | undefined;

  constructor(broker: Broker, options: BrokerClientOptions = {}) {
    this.broker = broker;
    this.callTimeoutMs = options.callTimeoutMs ?? 10_000;
    this.onCall = options.onCall;
  }

  get name(): string {
    return this.broker.name;
  }

  get capabilities(): BrokerCapabilities {
    return this.broker.capabilities;
  }

  async enqueue(
    queue: string,
    bodies: readonly Uint8Array[],
    options: ClientEnqueueOptions = {},
  ): Promise<string[]> {
    checkQueue(queue);
    if (!Array.isArray(bodies) || bodies.length === 0) {
      throw new InvalidArgumentError('enqueue needs at least one package body');
    }
    const caps = this.broker.capabilities;
    const limit = caps.maxPackageBytes;
    for (const body of bodies) {
      if (!(body instanceof Uint8Array)) throw new InvalidArgumentError('package bodies must be Uint8Array');
      if (limit !== undefined && body.byteLength > limit) {
        throw new PackageTooLargeError(body.byteLength, limit, this.broker.name);
      }
    }
    const brokerOptions: EnqueueOptions = {};
    if (options.priority !== undefined && options.priority !== 0) {
      if (!Number.isInteger(options.priority) || options.priority < 0 || options.priority > 9) {
        throw new InvalidArgumentError(`priority must be an integer from 0 to 9, got ${options.priority}`);
      }
      if (!caps.priority) {
        throw new CapabilityError(
          `the ${this.broker.name} broker has no priorities as configured (priority ${options.priority} asked): ` +
            "remove `priority`, or turn priorities on in the broker's options where it offers them " +
            '(priority 0, the default, is always accepted)',
        );
      }
      brokerOptions.priority = options.priority;
    }
    if (options.delayMs !== undefined && options.delayMs > 0) {
      brokerOptions.delayMs = this.checkDelay(options.delayMs, options.allowDelayHops ?? false);
    }
    if (options.labels !== undefined) {
      if (!Array.isArray(options.labels) || options.labels.length !== bodies.length) {
        throw new InvalidArgumentError('enqueue labels must be a list with one label per body');
      }
      // Only a broker that stores them gets them: the others' options stay as they were.
      if (this.broker.administration !== undefined) brokerOptions.labels = options.labels;
    }
    return this.call('enqueue', this.callTimeoutMs, () => this.broker.enqueue(queue, bodies, brokerOptions));
  }

  async reserve(queue: string, options: ReserveOptions): Promise<Delivery[]> {
    checkQueue(queue);
    const { max, leaseMs, waitMs } = options;
    if (!Number.isInteger(max) || max < 1 || max > this.broker.capabilities.maxBatch) {
      throw new InvalidArgumentError(
        `reserve max must be an integer from 1 to ${this.broker.capabilities.maxBatch} on the ${this.broker.name} broker, got ${max}`,
      );
    }
    checkPositive('leaseMs', leaseMs);
    if (!(waitMs >= 0)) throw new InvalidArgumentError(`waitMs must be 0 or more, got ${waitMs}`);
    return this.call('reserve', waitMs + this.callTimeoutMs, () => this.broker.reserve(queue, options));
  }

  ack(delivery: Delivery): Promise<void> {
    return this.call('ack', this.callTimeoutMs, () => this.broker.ack(delivery));
  }

  release(delivery: Delivery, options: { delayMs?: number; allowDelayHops?: boolean } = {}): Promise<void> {
    const delayMs =
      options.delayMs !== undefined && options.delayMs > 0
        ? this.checkDelay(options.delayMs, options.allowDelayHops ?? false)
        : undefined;
    return this.call('release', this.callTimeoutMs, () =>
      this.broker.release(delivery, delayMs === undefined ? undefined : { delayMs }),
    );
  }

  deadLetter(delivery: Delivery, reason: string): Promise<void> {
    return this.call('deadLetter', this.callTimeoutMs, () => this.broker.deadLetter(delivery, reason));
  }

  extend(delivery: Delivery, leaseMs: number): Promise<void> {
    checkPositive('leaseMs', leaseMs);
    if (!this.broker.capabilities.extend) {
      return Promise.reject(new CapabilityError(`the ${this.broker.name} broker cannot extend leases`));
    }
    return this.call('extend', this.callTimeoutMs, () => this.broker.extend(delivery, leaseMs));
  }

  size(queue: string): Promise<QueueSize> {
    checkQueue(queue);
    return this.call('size', this.callTimeoutMs, () => this.broker.size(queue));
  }

  purge(queue: string): Promise<number> {
    checkQueue(queue);
    return this.call('purge', this.callTimeoutMs, () => this.broker.purge(queue));
  }

  close(): Promise<void> {
    return this.broker.close();
  }

  private checkDelay(delayMs: number, allowHops: boolean): number {
    checkPositive('delayMs', delayMs);
    const maxMs = this.broker.capabilities.delay.maxMs;
    if (delayMs <= maxMs) return Math.ceil(delayMs);
    if (maxMs > 0 && allowHops) return maxMs;
    throw new CapabilityError(
      maxMs === 0
        ? `the ${this.broker.name} broker has no delayed delivery`
        : `a delay of ${delayMs} ms exceeds the ${this.broker.name} broker's maximum of ${maxMs} ms`,
    );
  }

  private async call<T>(operation: BrokerOperation, deadlineMs: number, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await deadlines.race(
        deadlineMs,
        run(),
        () =>
          new BrokerConnectionError(
            `${this.broker.name} broker: ${operation} did not answer within ${deadlineMs} ms`,
          ),
      );
      this.onCall?.({ operation, durationMs: performance.now() - started });
      return result;
    } catch (error) {
      const mapped = mapError(this.broker.name, operation, error);
      this.onCall?.({ operation, durationMs: performance.now() - started, error: mapped });
      throw mapped;
    }
  }
}

/** Shared by every client of the process: calls due in the same few milliseconds share one timer. */
const deadlines = new DeadlineSlots();

function mapError(brokerName: string, operation: BrokerOperation, error: unknown): Error {
  if (error instanceof TasqError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new BrokerError(`${brokerName} broker: ${operation} failed: ${message}`, { cause: error });
}

function checkQueue(queue: string): void {
  if (typeof queue !== 'string' || !QUEUE_NAME.test(queue)) {
    throw new InvalidArgumentError(
      `invalid queue name ${JSON.stringify(queue)}: use 1 to 80 letters, digits, "_", "-", "." or ":"`,
    );
  }
}

function checkPositive(name: string, value: number): void {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new InvalidArgumentError(`${name} must be a positive number of milliseconds, got ${value}`);
  }
}
