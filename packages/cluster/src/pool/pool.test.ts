/**
 * The pool and its guard, with workers that live in the test and a manual clock: recycling, the hard
 * memory ceiling, replacing the dead, and the pause between failed starts, with no process and no sleep.
 */
import { ManualClock } from '@tasq/core';
import { describe, expect, it } from 'vitest';
import { ClusterEmitter, emptyStats } from '../runtime/events.js';
import type { HeldPackage } from '../runtime/held-package.js';
import { heldPackage, quietLogger, TestWorker } from '../test-support/runtime-parts.js';
import type { LostRun } from './lost-run.js';
import { Pool, type PoolSettings } from './pool.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function poolWith(
  settings: Partial<PoolSettings> = {},
  behaviour: (worker: TestWorker) => void = (w) => w.ready(),
) {
  const clock = new ManualClock();
  const workers: TestWorker[] = [];
  const done: HeldPackage[] = [];
  const lost: { entry: HeldPackage; lost: LostRun }[] = [];
  const startedLater: HeldPackage[] = [];
  const notStarted: HeldPackage[] = [];
  const events = new ClusterEmitter();
  const stats = emptyStats();
  const pool = new Pool({
    settings: { pool: 'inline', workers: 1, concurrency: 1, recycle: 1_000, guardCycleMs: 100, ...settings },
    workerSettings: { tasks: [], cwd: '.', sampleMs: 0, exitWithParent: false },
    clock,
    logger: quietLogger,
    events,
    stats,
    on: {
      onReady() {},
      onRunDone: (entry) => done.push(entry),
      onRunLost: (entry, why) => lost.push({ entry, lost: why }),
      onRunStarted: (entry) => startedLater.push(entry),
      onRunNotStarted: (entry) => notStarted.push(entry),
      onCapacity() {},
    },
    startWorker: (callbacks) => {
      const worker = new TestWorker(1000 + workers.length, callbacks);
      workers.push(worker);
      queueMicrotask(() => behaviour(worker));
      return worker;
    },
  });
  /** Hand `entry` to the idlest worker, as the dispatcher does. */
  const assign = (entry: HeldPackage, runId: number) => {
    const slot = pool.pick();
    if (!slot) throw new Error('no free worker');
    pool.assign(slot, runId, entry);
    return slot;
  };
  return { clock, pool, workers, done, lost, events, stats, assign, startedLater, notStarted };
}

describe('the pool', () => {
  it('starts the configured workers and hands runs to the idlest one with a free slot', async () => {
    const { pool, assign } = poolWith({ workers: 2, concurrency: 2 });
    await pool.start();
    expect(pool.readyCount()).toBe(2);
    const first = assign(heldPackage(Infinity), 1);
    const second = assign(heldPackage(Infinity), 2);
    expect(second.id).not.toBe(first.id);
    assign(heldPackage(Infinity), 3);
    assign(heldPackage(Infinity), 4);
    expect(pool.pick()).toBeUndefined();
    expect(pool.freeSlots()).toBe(0);
  });

  it('sends one run ahead to a busy worker once runs are short, and starts it when a run there ends', async () => {
    const { pool, workers, assign, done, startedLater } = poolWith({ pool: 'process', concurrency: 1 });
    await pool.start();
    const first = heldPackage(Infinity);
    assign(first, 1);
    // No run timed yet: nothing is sent ahead of one whose length is unknown.
    expect(pool.pick()).toBeUndefined();
    workers[0]!.done([1], 1);
    expect(done).toEqual([first]);
    const [second, third] = [heldPackage(Infinity), heldPackage(Infinity)];
    const slot = assign(second, 2);
    // The worker is busy: the third waits in it, sent ahead, and no more fits.
    assign(third, 3);
    expect(slot.waiting).toEqual([third]);
    expect(pool.pick()).toBeUndefined();
    expect(pool.info()[0]).toMatchObject({
      running: 1,
      jobs: [expect.objectContaining({ id: second.ref.id })],
    });
    // The second ends: the third, waiting in the worker, has started there.
    workers[0]!.done([2], 2);
    expect(startedLater).toEqual([third]);
    expect(slot.waiting).toEqual([]);
    expect(done).toEqual([first, second]);
  });

  it('gives back a run that waited in a worker that died, and fails only the one that was running', async () => {
    const { pool, workers, assign, lost, notStarted } = poolWith({ pool: 'process', concurrency: 1 });
    await pool.start();
    assign(heldPackage(Infinity), 1);
    workers[0]!.done([1], 1);
    const running = heldPackage(Infinity);
    const slot = assign(running, 2);
    const waiting = heldPackage(Infinity);
    assign(waiting, 3);
    expect(slot.waiting).toEqual([waiting]);
    workers[0]!.kill();
    await flush();
    expect(lost.map((l) => l.entry)).toEqual([running]);
    expect(notStarted).toEqual([waiting]);
  });

  it('recycles a worker after `recycle` tasks: its successor starts, then it is told to retire', async () => {
    const { pool, workers, assign, done, events } = poolWith({ recycle: 3, concurrency: 1 });
    const recycled: unknown[] = [];
    events.on('worker-recycled', (event) => recycled.push(event));
    await pool.start();
    const entry = heldPackage(Infinity);
    assign(entry, 1);
    workers[0]!.done([1], 3);
    expect(done).toEqual([entry]);
    expect(recycled).toEqual([expect.objectContaining({ workerId: 1, reason: 'recycle', tasksDone: 3 })]);
    expect(workers[0]!.sent).toContainEqual({ type: 'retire' });
    await flush();
    expect(workers).toHaveLength(2);
    expect(pool.info().filter((w) => !w.retiring)).toHaveLength(1);
  });

  it("starts a fast worker's successor early enough to be ready before the old one stops taking runs", async () => {
    // The first worker takes 300 ms to be ready; then it runs 5 tasks a millisecond. With recycle 10,000
    // the fixed margin (max(2 × concurrency, recycle / 10) = 1,000 tasks) would start the successor 200
    // ms before the recycle, less than a start-up: the margin follows the pace (2 × 300 ms of tasks).
    // At 5,000 tasks (1,000 ms) that is 3,000 tasks: not yet.
    let clockAdvance: (ms: number) => Promise<void> = async () => {};
    const { clock, pool, workers, assign } = poolWith({ recycle: 10_000, concurrency: 1 }, (worker) => {
      if (workers.length === 1) void clockAdvance(300).then(() => worker.ready());
      else worker.ready();
    });
    clockAdvance = (ms) => clock.advance(ms);
    await pool.start();
    await clock.advance(1_000);
    assign(heldPackage(Infinity), 1);
    workers[0]!.done([1], 5_000);
    await flush();
    expect(workers).toHaveLength(1);
    await clock.advance(500);
    assign(heldPackage(Infinity), 2);
    workers[0]!.done([2], 7_500);
    await flush();
    // 7,500 tasks in 1,500 ms: 3,000 run during twice the start-up, and 7,500 ≥ 10,000 − 3,000.
    expect(workers).toHaveLength(2);
    expect(pool.info().filter((w) => !w.retiring)).toHaveLength(2);
  });

  it('fails the runs of a worker that died under them and starts another in its place', async () => {
    const { pool, workers, assign, lost, stats } = poolWith();
    await pool.start();
    const entry = heldPackage(Infinity);
    assign(entry, 1);
    workers[0]!.exit(137);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.lost.workerLost).toBe(true);
    expect(lost[0]!.lost.result.error).toMatchObject({
      name: 'WorkerLostError',
      message: 'the worker running the task exited with code 137',
    });
    expect(stats.workersCrashed).toBe(1);
    await flush();
    expect(workers).toHaveLength(2);
    expect(pool.readyCount()).toBe(1);
  });

  it('kills a worker past twice maxRss while it runs, and fails its run as a memory failure', async () => {
    const { pool, workers, assign, lost } = poolWith({ maxRssBytes: 100 * 2 ** 20 });
    await pool.start();
    assign(heldPackage(Infinity), 1);
    workers[0]!.reportMemory(150 * 2 ** 20);
    expect(workers[0]!.killed).toBe(false);
    workers[0]!.reportMemory(201 * 2 ** 20);
    expect(workers[0]!.killed).toBe(true);
    await flush();
    expect(lost[0]!.lost).toMatchObject({
      workerLost: false,
      result: { error: { name: 'WorkerMemoryError' } },
    });
  });

  it('retires a worker above maxRss once its run is done, after starting its successor', async () => {
    const { pool, workers, assign, events } = poolWith({ maxRssBytes: 100 * 2 ** 20 });
    const reasons: string[] = [];
    events.on('worker-recycled', (event) => reasons.push(event.reason));
    await pool.start();
    assign(heldPackage(Infinity), 1);
    workers[0]!.done([1], 1, 120 * 2 ** 20);
    expect(reasons).toEqual(['max-rss']);
    await flush();
    expect(workers).toHaveLength(2);
  });

  it('samples memory on the guard cycle and kills a worker whose run passes the ceiling', async () => {
    const { clock, pool, workers, assign } = poolWith({ maxRssBytes: 100 * 2 ** 20, guardCycleMs: 500 });
    await pool.start();
    pool.startGuard();
    assign(heldPackage(Infinity), 1);
    workers[0]!.rss = 250 * 2 ** 20;
    await clock.advance(499);
    expect(workers[0]!.killed).toBe(false);
    await clock.advance(1);
    expect(workers[0]!.killed).toBe(true);
    pool.beginStop();
  });

  it('replaces workers that fail to start only after a pause that grows with each failure', async () => {
    const startedAt: number[] = [];
    let clockNow = () => 0;
    const { clock, pool, workers } = poolWith({ guardCycleMs: 100 }, (worker) => {
      startedAt.push(clockNow());
      if (startedAt.length === 1) worker.ready();
      else worker.failToLoad();
    });
    clockNow = () => clock.now();
    await pool.start();
    pool.startGuard();
    const t0 = clock.now();
    workers[0]!.exit(1); // the healthy worker dies: replaced at once, and that one fails to start
    await flush();
    for (let i = 0; i < 400; i++) await clock.advance(100);
    pool.beginStop();
    const gaps = startedAt.slice(2).map((at, i) => at - startedAt[i + 1]!);
    expect(startedAt[1]).toBe(t0);
    expect(gaps.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]).toBeGreaterThan(gaps[i - 1]!);
  });

  it('shrinks by retiring the idlest workers and grows by starting new ones', async () => {
    const { pool, workers, assign } = poolWith({ workers: 3 });
    await pool.start();
    assign(heldPackage(Infinity), 1);
    expect(pool.resize(1)).toBe(1);
    expect(
      pool
        .info()
        .filter((w) => !w.retiring)
        .map((w) => w.running),
    ).toEqual([1]);
    expect(pool.resize(2)).toBe(2);
    await flush();
    expect(workers).toHaveLength(4);
    expect(() => pool.resize(0)).toThrow('pool size must be at least 1, got 0');
  });
});
