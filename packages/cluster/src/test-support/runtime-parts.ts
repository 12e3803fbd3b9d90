/**
 * For unit tests of the runtime's parts: a worker that lives in the test (it does what the test says,
 * when it says), held packages over the in-memory broker, and a logger that keeps quiet.
 */
import { type Logger, ManualClock } from '@tasq/core';
import { BrokerClient, type Delivery, MemoryBroker } from '@tasq/core/backend';
import type { RunOutcome, TaskPackage } from '@tasq/core/internal';
import type { WorkerCallbacks, WorkerHandle } from '../pool/worker-handle.js';
import { describeRef, type HeldPackage } from '../runtime/held-package.js';
import type { ToWorker } from '../worker/protocol.js';

export const quietLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
} as unknown as Logger;

/** A worker under the test's control: it records what it is sent and answers only when told. */
export class TestWorker implements WorkerHandle {
  readonly kind = 'inline' as const;
  readonly sent: ToWorker[] = [];
  killed = false;
  rss: number | undefined;
  constructor(
    readonly pid: number,
    private readonly callbacks: WorkerCallbacks,
  ) {}
  send(message: ToWorker): void {
    this.sent.push(message);
  }
  kill(): void {
    if (this.killed) return;
    this.killed = true;
    queueMicrotask(() => this.callbacks.onExit(null, 'SIGKILL'));
  }
  sampleRssBytes(): number | undefined {
    return this.rss;
  }
  ready(): void {
    this.callbacks.onMessage({ type: 'ready', tasks: ['test.add'] });
  }
  failToLoad(): void {
    this.callbacks.onMessage({ type: 'load-error', message: 'cannot import the tasks' });
    this.callbacks.onExit(1, null);
  }
  done(runIds: number[], tasksDone: number, rssBytes = 50 * 2 ** 20): void {
    const outcome: RunOutcome = { status: 'success', result: null, startedAt: 0, stoppedAt: 0 };
    this.callbacks.onMessage({
      type: 'done',
      items: runIds.map((runId) => ({ runId, outcome })),
      tasksDone,
      rssBytes,
    });
  }
  reportMemory(rssBytes: number): void {
    this.callbacks.onMessage({ type: 'memory', rssBytes });
  }
  exit(code: number): void {
    this.callbacks.onExit(code, null);
  }
  /** Run ids of every `run` order received. */
  runIds(): number[] {
    return this.sent.flatMap((m) => (m.type === 'run' ? m.runs.map((r) => r.runId) : []));
  }
}

/** A memory broker on a manual clock, wrapped as the runtime sees brokers. */
export function memoryBroker(clock = new ManualClock()): { clock: ManualClock; broker: BrokerClient } {
  return { clock, broker: new BrokerClient(new MemoryBroker({ clock })) };
}

export function packageFor(id: string, overrides: Partial<TaskPackage> = {}): TaskPackage {
  return { id, name: 'test.add', args: [1, 2], queue: 'q', enqueuedAt: 0, ...overrides } as TaskPackage;
}

/** A held package for a delivery (or a made-up one), leased until `leaseUntil`. */
export function heldPackage(
  leaseUntil: number,
  options: { delivery?: Delivery; pkg?: TaskPackage } = {},
): HeldPackage {
  const pkg = options.pkg ?? packageFor(`job-${Math.random().toString(36).slice(2, 8)}`);
  const delivery =
    options.delivery ??
    ({ id: pkg.id, queue: pkg.queue, body: new Uint8Array(), deliveries: 1, receipt: {} } as Delivery);
  return {
    delivery,
    pkg,
    ref: describeRef(delivery, pkg),
    leaseUntil,
    leaseLost: false,
    extending: false,
    state: 'buffered',
    timers: [],
  };
}
