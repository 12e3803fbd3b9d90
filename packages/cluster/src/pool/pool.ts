/**
 * The pool: starts the workers, keeps which runs each holds, retires and replaces them, and resizes on
 * request. When to recycle, what memory is too much and how soon to replace the dead is the guard's
 * call (guard.ts); what happens to a run's delivery is the sentinel's.
 */
import { availableParallelism } from 'node:os';
import type { Clock, Logger, ProgressValue, TaskRegistry } from '@tasq/core';
import { defaultRegistry } from '@tasq/core/internal';
import type { ClusterEmitter, ClusterStats } from '../runtime/events.js';
import type { HeldPackage } from '../runtime/held-package.js';
import type { FromWorker, RunDone, WorkerSettings } from '../worker/protocol.js';
import { after } from '../runtime/clock-timers.js';
import { Guard, HARD_RSS_FACTOR } from './guard.js';
import { type LostRun, lostRunOf } from './lost-run.js';
import type { RetireReason, WorkerInfo, WorkerSlot } from './worker-slot.js';
import {
  createInlineWorker,
  spawnProcessWorker,
  spawnThreadWorker,
  type WorkerCallbacks,
  type WorkerHandle,
} from './worker-handle.js';

export { HARD_RSS_FACTOR } from './guard.js';
export type { RetireReason, WorkerInfo, WorkerSlot } from './worker-slot.js';

export interface PoolSettings {
  pool: 'process' | 'thread' | 'inline';
  workers: number;
  concurrency: number;
  recycle: number;
  maxRssBytes?: number;
  guardCycleMs: number;
  cpuAffinity?: number;
}

/** What the pool tells its owner. */
export interface PoolEvents {
  /** A worker is ready: the rate limits and run settings of its tasks. */
  onReady(message: Extract<FromWorker, { type: 'ready' }>): void;
  /** A run finished; `entry` has left its worker's list. */
  onRunDone(entry: HeldPackage, item: RunDone): void;
  /** A worker ended under a run. */
  onRunLost(entry: HeldPackage, lost: LostRun): void;
  /** A run that waited in its worker started there (a run before it ended). */
  onRunStarted(entry: HeldPackage, slot: WorkerSlot): void;
  /** A worker ended before a run waiting in it started: the run never ran. */
  onRunNotStarted(entry: HeldPackage): void;
  /** A worker has room again, or a new one is ready: dispatch. */
  onCapacity(): void;
  /** Runs reported progress (coalesced by the worker). */
  onProgress?(entry: HeldPackage, value: ProgressValue): void;
}

export interface PoolOptions {
  settings: PoolSettings;
  workerSettings: WorkerSettings;
  clock: Clock;
  logger: Logger;
  events: ClusterEmitter;
  stats: ClusterStats;
  on: PoolEvents;
  /** Registry for the inline pool (the tasks modules are imported into it). */
  registry?: TaskRegistry;
  /** Node flags for worker processes. */
  workerExecArgv?: string[];
  /** How a worker is started; by default from `settings.pool`. */
  startWorker?: (callbacks: WorkerCallbacks) => WorkerHandle;
}

/**
 * Runs a worker process or thread holds beyond its concurrency: sent ahead, each waits in the worker and
 * starts the moment a run ends, instead of after that run's `done` has reached the sentinel and the next
 * order has come back. At concurrency 1 that round trip was most of a short job's time. The inline pool
 * has no hop to hide.
 */
export const RUNS_AHEAD = 1;
/**
 * Runs are sent ahead only while they are this short (a moving average of the runs' own times). A run
 * waiting in a worker waits for a run there to end: a moment for short runs, but behind a long one it
 * would sit while another worker, or another cluster, is free to start it.
 */
export const AHEAD_WHILE_RUNS_UNDER_MS = 10;

export class Pool {
  private readonly workers = new Map<number, WorkerSlot>();
  private nextWorkerId = 1;
  private stopping = false;
  private readonly guard: Guard;
  private readonly cpuCount = availableParallelism();
  private nextCpu = 0;
  /** Workers the pool keeps: `workers` from the configuration until remote control or autoscale resizes it. */
  private target: number;
  /** Moving average of how long runs took (ms, as their workers timed them); none measured yet: Infinity. */
  private runMs = Number.POSITIVE_INFINITY;

  constructor(private readonly options: PoolOptions) {
    this.target = options.settings.workers;
    this.guard = new Guard(
      {
        slots: () => this.workers.values(),
        missing: () => this.target - this.aliveCount(),
        spawn: () => this.spawnInBackground(),
        startSuccessor: (slot) => this.startSuccessor(slot),
        retire: (slot, reason) => this.retire(slot, reason),
      },
      options.settings,
      options.clock,
      options.logger,
      options.events,
    );
  }

  /** Workers the pool keeps now. */
  get size(): number {
    return this.target;
  }

  /** Start the configured workers and wait until each has imported the tasks. */
  async start(): Promise<void> {
    const starting = Array.from({ length: this.target }, () => this.spawn());
    const failure = (await Promise.allSettled(starting)).find(
      (r): r is PromiseRejectedResult => r.status === 'rejected',
    );
    if (failure) {
      this.killAll();
      throw failure.reason;
    }
  }

  startGuard(): void {
    this.guard.start();
  }

  /** The idlest worker with a free slot, or room for a run sent ahead, if any. */
  pick(): WorkerSlot | undefined {
    const { concurrency, pool } = this.options.settings;
    const ahead = pool !== 'inline' && this.runMs < AHEAD_WHILE_RUNS_UNDER_MS ? RUNS_AHEAD : 0;
    const limit = concurrency + ahead;
    let best: WorkerSlot | undefined;
    for (const slot of this.workers.values()) {
      if (!slot.ready || slot.retiring || slot.exited) continue;
      if (slot.running.size >= limit) continue;
      if (!best || slot.running.size < best.running.size) best = slot;
    }
    return best;
  }

  /** Fold a run's time into the moving average that decides whether runs are sent ahead. */
  private timeRun(ms: number): void {
    if (!(ms >= 0)) return;
    this.runMs = this.runMs === Number.POSITIVE_INFINITY ? ms : this.runMs * 0.9 + ms * 0.1;
  }

  /**
   * Hand run `runId` to `slot`'s worker (the order is the caller's to send). True when it starts at once,
   * in a free slot; false when it waits in the worker, sent ahead, until a run there ends (`onRunStarted`).
   */
  assign(slot: WorkerSlot, runId: number, entry: HeldPackage): boolean {
    const startsNow = slot.running.size - slot.waiting.length < this.options.settings.concurrency;
    slot.running.set(runId, entry);
    if (!startsNow) slot.waiting.push(entry);
    return startsNow;
  }

  /** Workers that take runs. */
  readyCount(): number {
    let count = 0;
    for (const slot of this.workers.values()) if (slot.ready && !slot.retiring) count++;
    return count;
  }

  /** Run slots free in workers that take runs. */
  freeSlots(): number {
    let free = 0;
    for (const slot of this.workers.values()) {
      if (slot.ready && !slot.retiring && !slot.exited)
        free += this.options.settings.concurrency - slot.running.size;
    }
    return free;
  }

  runningCount(): number {
    let running = 0;
    for (const slot of this.workers.values()) running += slot.running.size;
    return running;
  }

  info(): WorkerInfo[] {
    return [...this.workers.values()].map((slot) => ({
      id: slot.id,
      ...(slot.handle.pid !== undefined ? { pid: slot.handle.pid } : {}),
      kind: slot.handle.kind,
      running: slot.running.size - slot.waiting.length,
      tasksDone: slot.tasksDone,
      ...(slot.rssBytes !== undefined ? { rssBytes: slot.rssBytes } : {}),
      retiring: slot.retiring,
      jobs: [...slot.running.values()]
        .filter((entry) => !slot.waiting.includes(entry))
        .map((entry) => ({
          id: entry.ref.id,
          name: entry.ref.name,
          queue: entry.ref.queue,
          startedAt: entry.startedAt ?? 0,
        })),
    }));
  }

  // ---------------------------------------------------------------- starting and ending workers

  private spawn(): Promise<void> {
    let onExited: () => void = () => {};
    const whenExited = new Promise<void>((resolve) => (onExited = resolve));
    const slot: WorkerSlot = {
      id: this.nextWorkerId++,
      handle: undefined as unknown as WorkerHandle,
      ready: false,
      retiring: false,
      running: new Map(),
      waiting: [],
      tasksDone: 0,
      startedAt: this.options.clock.now(),
      exited: false,
      whenExited,
      onExited,
    };
    const ready = new Promise<void>((resolve, reject) => {
      slot.onReady = (error) => (error ? reject(error) : resolve());
    });
    const callbacks: WorkerCallbacks = {
      onMessage: (message) => this.onMessage(slot, message),
      onExit: (code, signal) => this.onExit(slot, code, signal),
    };
    slot.handle = (this.options.startWorker ?? ((c) => this.startByKind(c)))(callbacks);
    this.workers.set(slot.id, slot);
    this.options.stats.workersStarted++;
    return ready;
  }

  private startByKind(callbacks: WorkerCallbacks): WorkerHandle {
    const { settings, workerSettings } = this.options;
    if (settings.pool === 'inline') {
      return createInlineWorker(this.options.registry ?? defaultRegistry, workerSettings, callbacks);
    }
    if (settings.pool === 'thread') {
      const maxHeapMb = settings.maxRssBytes
        ? Math.ceil((settings.maxRssBytes * HARD_RSS_FACTOR) / 2 ** 20)
        : undefined;
      return spawnThreadWorker(workerSettings, callbacks, maxHeapMb ? { maxHeapMb } : {});
    }
    return spawnProcessWorker(workerSettings, callbacks, {
      ...(this.options.workerExecArgv ? { execArgv: this.options.workerExecArgv } : {}),
      ...(settings.cpuAffinity ? { cpus: this.pickCpus(settings.cpuAffinity) } : {}),
    });
  }

  private spawnInBackground(): void {
    void this.spawn().catch((error) => this.guard.spawnFailed(error));
  }

  private pickCpus(count: number): number[] {
    const cpus: number[] = [];
    for (let i = 0; i < Math.min(count, this.cpuCount); i++) {
      cpus.push(this.nextCpu % this.cpuCount);
      this.nextCpu++;
    }
    return cpus;
  }

  private onMessage(slot: WorkerSlot, message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        slot.ready = true;
        slot.readyAt = this.options.clock.now();
        this.guard.workerReady(slot.readyAt - slot.startedAt);
        this.options.on.onReady(message);
        this.options.events.emit('worker-online', {
          workerId: slot.id,
          pid: slot.handle.pid,
          tasks: message.tasks.length,
        });
        slot.onReady?.();
        this.options.on.onCapacity();
        return;
      case 'load-error':
        slot.onReady?.(new Error(message.message));
        this.options.logger.error({ workerId: slot.id }, message.message);
        return;
      case 'memory':
        slot.rssBytes = message.rssBytes;
        this.guard.checkMemory(slot, message.rssBytes);
        return;
      case 'log':
        this.options.events.emit('task-log', {
          workerId: slot.id,
          level: message.level,
          fields: message.fields,
          ...(message.message !== undefined ? { message: message.message } : {}),
        });
        return;
      case 'progress':
        for (const item of message.items) {
          const entry = slot.running.get(item.runId);
          if (entry) this.options.on.onProgress?.(entry, item.value);
        }
        return;
      case 'done':
        slot.tasksDone = message.tasksDone;
        slot.rssBytes = message.rssBytes;
        for (const item of message.items) {
          const entry = slot.running.get(item.runId);
          if (!entry) continue; // already settled (its worker was declared lost)
          slot.running.delete(item.runId);
          const waited = slot.waiting.indexOf(entry);
          if (waited >= 0) {
            // Aborted while it waited: it never took a slot, so nothing started in its place.
            slot.waiting.splice(waited, 1);
          } else {
            // Its slot went to the run that waited longest (worker-runtime.ts does the same).
            const next = slot.waiting.shift();
            if (next) this.options.on.onRunStarted(next, slot);
            this.timeRun(item.outcome.stoppedAt - item.outcome.startedAt);
          }
          this.options.on.onRunDone(entry, item);
        }
        this.guard.afterRuns(slot);
        this.options.on.onCapacity();
        return;
    }
  }

  private onExit(slot: WorkerSlot, code: number | null, signal: string | null): void {
    if (slot.exited) return;
    slot.exited = true;
    this.workers.delete(slot.id);
    slot.onExited();
    const expected = (slot.retiring && slot.running.size === 0 && code === 0) || this.stopping;
    if (!slot.ready)
      slot.onReady?.(
        new Error(`worker ${slot.id} exited (code ${code}, signal ${signal}) before it was ready`),
      );
    if (!expected) this.options.stats.workersCrashed++;
    this.options.events.emit('worker-offline', {
      workerId: slot.id,
      pid: slot.handle.pid,
      code,
      signal,
      expected,
    });
    const now = this.options.clock.now();
    for (const entry of slot.running.values()) {
      if (slot.waiting.includes(entry)) this.options.on.onRunNotStarted(entry);
      else this.options.on.onRunLost(entry, lostRunOf(entry, now, { code, signal }));
    }
    slot.running.clear();
    slot.waiting.length = 0;
    if (this.stopping) return;
    // A retired worker was replaced when it retired; any other loss is replaced now.
    if (!slot.retiring && !slot.successorStarting) {
      if (slot.ready) this.spawnInBackground();
      else this.guard.spawnFailed(new Error(`worker ${slot.id} failed to start`));
    }
    this.options.on.onCapacity();
  }

  // ---------------------------------------------------------------- retiring

  private startSuccessor(slot: WorkerSlot): void {
    if (slot.successorStarting || this.stopping) return;
    slot.successorStarting = true;
    this.spawnInBackground();
  }

  private retire(slot: WorkerSlot, reason: RetireReason): void {
    if (slot.retiring || slot.exited) return;
    slot.retiring = true;
    this.options.stats.workersRecycled++;
    this.options.events.emit('worker-recycled', {
      workerId: slot.id,
      pid: slot.handle.pid,
      reason,
      tasksDone: slot.tasksDone,
      ...(slot.rssBytes !== undefined ? { rssBytes: slot.rssBytes } : {}),
    });
    if (slot.running.size === 0) slot.handle.send({ type: 'retire' });
    this.options.on.onCapacity();
  }

  private aliveCount(): number {
    let count = 0;
    for (const slot of this.workers.values()) if (!slot.retiring) count++;
    return count;
  }

  // ---------------------------------------------------------------- resizing (remote control, autoscale)

  /**
   * Keep `size` workers from now on. Growing starts the new workers at once; shrinking retires the idlest
   * workers, which finish what they run and exit (nothing is interrupted). Returns the new size.
   */
  resize(size: number): number {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`pool size must be at least 1, got ${size}`);
    if (this.stopping) return this.target;
    this.target = size;
    const alive = [...this.workers.values()].filter((slot) => !slot.retiring && !slot.exited);
    if (alive.length < size) {
      for (let i = alive.length; i < size; i++) this.spawnInBackground();
    } else if (alive.length > size) {
      alive.sort((a, b) => a.running.size - b.running.size || b.id - a.id);
      for (const slot of alive.slice(0, alive.length - size)) this.retire(slot, 'pool-shrink');
    }
    return this.target;
  }

  /** Recycle every worker gracefully: each gets a successor started now, finishes what it runs and exits. */
  restartAll(): number {
    if (this.stopping) return 0;
    const current = [...this.workers.values()].filter((slot) => !slot.retiring && !slot.exited);
    for (const slot of current) {
      this.startSuccessor(slot);
      this.retire(slot, 'restart');
    }
    return current.length;
  }

  /** Read each worker process's memory now (Linux: /proc, without the worker's help). */
  sampleMemory(): void {
    for (const slot of this.workers.values()) {
      const rss = slot.handle.sampleRssBytes();
      if (rss !== undefined) slot.rssBytes = rss;
    }
  }

  // ---------------------------------------------------------------- stopping

  /** No more replacing, recycling or growing: the cluster is stopping. */
  beginStop(): void {
    this.stopping = true;
    this.guard.stop();
  }

  /** Kill every worker now; what they run ends as lost runs. */
  killAll(): void {
    for (const slot of this.workers.values()) slot.handle.kill();
  }

  /** Ask every worker to finish and exit; kill one that has not exited after `killAfterMs`. */
  async retireAll(killAfterMs = 5_000): Promise<void> {
    await Promise.all(
      [...this.workers.values()].map(async (slot) => {
        if (slot.exited) return;
        const cancelKill = after(this.options.clock, killAfterMs, () => slot.handle.kill());
        slot.retiring = true;
        slot.handle.send({ type: 'retire' });
        await slot.whenExited;
        cancelKill();
      }),
    );
  }
}
