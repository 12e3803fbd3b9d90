/**
 * The dispatcher on a manual clock, with a worker that lives in the test: what starts, what is given
 * back or dropped for its lease, and the soft and hard timeouts, with no process and no sleep.
 */
import { ManualClock } from '@tasq/core';
import { describe, expect, it } from 'vitest';
import type { WorkerSlot } from '../pool/pool.js';
import { heldPackage, packageFor, quietLogger, TestWorker } from '../test-support/runtime-parts.js';
import { clearRunTimers, Dispatcher } from './dispatcher.js';
import { ClusterEmitter, emptyStats } from './events.js';
import { HeldLedger } from './held-ledger.js';
import type { HeldPackage } from './held-package.js';
import { RateLimits } from './rate-limiter.js';

const LEASE_MS = 8_000;

function setup(
  options: {
    concurrency?: number;
    /** Runs the worker may hold beyond its concurrency (sent ahead). */
    ahead?: number;
    timeoutMs?: number;
    softTimeoutMs?: number;
    limits?: Record<string, string>;
  } = {},
) {
  const clock = new ManualClock();
  const worker = new TestWorker(1, { onMessage() {}, onExit() {} });
  const slot = {
    id: 1,
    handle: worker,
    ready: true,
    retiring: false,
    running: new Map(),
    waiting: [],
    exited: false,
  } as unknown as WorkerSlot;
  const concurrency = options.concurrency ?? 10;
  const ahead = options.ahead ?? 0;
  const ledger = new HeldLedger(100);
  const events = new ClusterEmitter();
  const stats = emptyStats();
  const givenBack: { entry: HeldPackage; reason: string }[] = [];
  const dispatcher = new Dispatcher({
    ledger,
    pool: {
      pick: () => (slot.running.size < concurrency + ahead ? slot : undefined),
      assign: (to: WorkerSlot, runId: number, entry: HeldPackage) => {
        const startsNow = to.running.size - to.waiting.length < concurrency;
        to.running.set(runId, entry);
        if (!startsNow) to.waiting.push(entry);
        return startsNow;
      },
    },
    rateLimits: new RateLimits(options.limits ?? {}, clock),
    clock,
    logger: quietLogger,
    events,
    stats,
    leaseMs: LEASE_MS,
    timeoutMs: options.timeoutMs,
    softTimeoutMs: options.softTimeoutMs,
    giveBack: (entry, reason) => {
      givenBack.push({ entry, reason });
      ledger.forget(entry);
    },
  });
  const hold = (overrides: Parameters<typeof packageFor>[1] = {}, leaseLeftMs = LEASE_MS) => {
    const entry = heldPackage(clock.now() + leaseLeftMs, {
      pkg: packageFor(`job-${Math.random()}`, overrides),
    });
    ledger.enqueue(entry);
    return entry;
  };
  return { clock, worker, slot, ledger, events, stats, dispatcher, givenBack, hold };
}

describe('the dispatcher', () => {
  it('starts buffered packages in order, up to the free slots, in one order per worker', () => {
    const { dispatcher, hold, worker, ledger, stats } = setup({ concurrency: 2 });
    const [a, b, c] = [hold(), hold(), hold()];
    dispatcher.dispatch();
    expect(worker.sent).toEqual([
      {
        type: 'run',
        runs: [
          { runId: 1, pkg: a.pkg, deliveries: 1 },
          { runId: 2, pkg: b.pkg, deliveries: 1 },
        ],
      },
    ]);
    expect(ledger.buffer).toEqual([c]);
    expect(ledger.counts()).toMatchObject({ buffered: 1, running: 2 });
    expect(stats.started).toBe(2);
  });

  it('gives back a package whose lease is nearly over, and drops one whose lease has ended', () => {
    const { dispatcher, hold, worker, givenBack, events, ledger } = setup();
    const lost: unknown[] = [];
    events.on('lease-lost', (event) => lost.push(event));
    const short = hold({}, LEASE_MS / 16);
    const ended = hold({}, 0);
    dispatcher.dispatch();
    expect(worker.sent).toEqual([]);
    expect(givenBack).toEqual([{ entry: short, reason: 'its lease was nearly over before it could start' }]);
    expect(lost).toEqual([expect.objectContaining({ id: ended.pkg.id, operation: 'start' })]);
    expect(ledger.counts().total).toBe(0);
  });

  it('aborts the run at its soft timeout and kills its worker at its hard timeout', async () => {
    const { dispatcher, hold, worker, clock, stats, events } = setup({ softTimeoutMs: 1_000 });
    const timedOut: unknown[] = [];
    events.on('task-timed-out', (event) => timedOut.push(event));
    const entry = hold({ timeoutMs: 3_000 });
    dispatcher.dispatch();
    await clock.advance(999);
    expect(worker.sent.map((m) => m.type)).toEqual(['run']);
    await clock.advance(1);
    expect(worker.sent.at(-1)).toEqual({
      type: 'abort',
      runId: 1,
      reason: 'soft timeout of 1000 ms reached',
    });
    await clock.advance(1_999);
    expect(worker.killed).toBe(false);
    await clock.advance(1);
    expect(worker.killed).toBe(true);
    expect(entry.timedOutAfterMs).toBe(3_000);
    expect(stats.timedOut).toBe(1);
    expect(timedOut).toEqual([expect.objectContaining({ id: entry.pkg.id, timeoutMs: 3_000 })]);
  });

  it('sends a run ahead when the worker is busy: it is timed and reported started only once it starts', async () => {
    const { dispatcher, hold, worker, clock, slot, stats, events } = setup({
      concurrency: 1,
      ahead: 1,
      timeoutMs: 1_000,
    });
    const started: string[] = [];
    events.on('task-started', (event) => started.push(event.id));
    const [first, second, third] = [hold(), hold(), hold()];
    dispatcher.dispatch();
    // Both go to the worker in one order; the second waits there, the third stays in the buffer.
    expect(worker.runIds()).toEqual([1, 2]);
    expect(slot.waiting).toEqual([second]);
    expect(started).toEqual([first.pkg.id]);
    expect(stats.started).toBe(1);
    // Its hard timeout has not begun: the first's fires alone.
    await clock.advance(600);
    slot.running.delete(1);
    clearRunTimers(first);
    slot.waiting.shift();
    dispatcher.runStarted(second, slot);
    expect(started).toEqual([first.pkg.id, second.pkg.id]);
    expect(second.startedAt).toBe(clock.now());
    await clock.advance(999);
    expect(worker.killed).toBe(false);
    await clock.advance(1);
    expect(worker.killed).toBe(true);
    expect(second.timedOutAfterMs).toBe(1_000);
    expect(third.state).toBe('buffered');
  });

  it('fires no timeout for a run that ended in time', async () => {
    const { dispatcher, hold, worker, clock, slot } = setup({ timeoutMs: 1_000, softTimeoutMs: 500 });
    const entry = hold();
    dispatcher.dispatch();
    slot.running.delete(1);
    clearRunTimers(entry);
    await clock.advance(5_000);
    expect(worker.sent.map((m) => m.type)).toEqual(['run']);
    expect(worker.killed).toBe(false);
  });

  it('holds back a package its rate limit does not allow yet, and starts it when a token is due', async () => {
    const { dispatcher, hold, worker, clock } = setup({ limits: { 'test.add': '1/s' } });
    hold();
    hold();
    dispatcher.dispatch();
    expect(worker.runIds()).toEqual([1]);
    await clock.advance(999);
    expect(worker.runIds()).toEqual([1]);
    await clock.advance(1);
    expect(worker.runIds()).toEqual([1, 2]);
  });
});
