/**
 * The sentinel: one per cluster. It owns the broker connection (through core's BrokerClient) and every
 * receipt. The fetcher reserves packages in bulk up to `queueLimit` ahead; the dispatcher hands them to
 * workers over each worker's own channel; the lease keeper extends the lease of everything held; the
 * guard replaces dead workers and watches memory; the monitor settles each delivery once.
 */
import { availableParallelism } from 'node:os';
import {
  type Clock,
  type Delivery,
  defaultRegistry,
  LeaseLostError,
  type Logger,
  loadErrorReporter,
  PackageRejectedError,
  type ResolvedConfig,
  type Scheduler,
  type TaskRegistry,
  type TaskResult,
  type Tasq,
  taskResultOf,
} from '@tasq/core';
import {
  createInlineWorker,
  spawnProcessWorker,
  spawnThreadWorker,
  type WorkerHandle,
} from '../pool/worker-handle.js';
import type { FromWorker, RunOrder, WorkerSettings } from '../worker/protocol.js';
import { type ClusterSchedulerOptions, clusterIdentity, startClusterScheduler } from './cluster-scheduler.js';
import { beyondMaxAttempts } from './delivery-limit.js';
import { ClusterEmitter, type ClusterStats, emptyStats } from './events.js';
import { FailureReporting } from './failure-reporting.js';
import { describeRef, type HeldPackage } from './held-package.js';
import { leaseEndsAt, leaseMarginMs, leaseStanding } from './lease.js';
import { Monitor } from './monitor.js';
import { type RateLimitScope, RateLimits } from './rate-limiter.js';
import { type TaskRunDefaults, withRunDefaults } from './task-run-defaults.js';

export interface SentinelOptions {
  cwd: string;
  logger: Logger;
  clock: Clock;
  /** Registry for the inline pool (the tasks modules are imported into it). */
  registry?: TaskRegistry;
  /** Longest a single reserve waits for a first package. Default 5 s. */
  reserveWaitMs?: number;
  /** Node flags for worker processes. Default: the sentinel's own (without --inspect). */
  workerExecArgv?: string[];
  /** Leader lease and tick of the scheduler (when `scheduler` is on). */
  scheduler?: ClusterSchedulerOptions;
}

interface WorkerSlot {
  id: number;
  handle: WorkerHandle;
  ready: boolean;
  retiring: boolean;
  running: Map<number, HeldPackage>;
  tasksDone: number;
  rssBytes?: number;
  startedAt: number;
  /** Its replacement is starting (recycle, maxRss); it serves until that one is ready. */
  successorStarting?: boolean;
  /** Set when the sentinel killed it on purpose (stop deadline). */
  killedForStop?: boolean;
  exited: boolean;
  onReady?: (error?: Error) => void;
}

export interface WorkerInfo {
  id: number;
  pid?: number;
  kind: string;
  running: number;
  tasksDone: number;
  rssBytes?: number;
  retiring: boolean;
  /** What it runs now (id, task name, queue, since when). */
  jobs: { id: string; name: string; queue: string; startedAt: number }[];
}

/** Why a worker is retired while healthy: its task count, its memory, an operator's restart, a smaller pool. */
export type RetireReason = 'recycle' | 'max-rss' | 'restart' | 'pool-shrink';

/** Packages being settled, as a multiple of queueLimit, past which fetching pauses. */
const SETTLING_FACTOR = 4;

/** The hard memory ceiling, as a multiple of maxRss: past it a running task's worker is killed. */
export const HARD_RSS_FACTOR = 2;

export class Sentinel {
  readonly events = new ClusterEmitter();
  readonly stats: ClusterStats = emptyStats();
  /** This cluster's identity (`name@host:pid`): the scheduler's lock owner. */
  readonly identity: string;
  private scheduler: Scheduler | undefined;
  private reporting: FailureReporting | undefined;
  private readonly monitor: Monitor;
  private readonly rateLimits: RateLimits;
  /** Each task's own run settings, as its workers reported them: filled into packages that leave them out. */
  private readonly runDefaults = new Map<string, TaskRunDefaults>();
  private readonly buffer: HeldPackage[] = [];
  private readonly held = new Set<HeldPackage>();
  private readonly workers = new Map<number, WorkerSlot>();
  private readonly fetchControl = new AbortController();
  /** Resolves when stopping begins; raced against every wait of the fetch loops. */
  private readonly whenStopping: Promise<void>;
  private fetchLoops: Promise<void>[] = [];
  private reservingSlots = 0;
  private runningCount = 0;
  private roomWaiter: (() => void) | undefined;
  private nextWorkerId = 1;
  private nextRunId = 1;
  private guardTimer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private dispatchTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private forceKill: (() => void) | undefined;
  private killRequested = false;
  private spawnFailures = 0;
  private respawnTimer: NodeJS.Timeout | undefined;
  private readonly workerSettings: WorkerSettings;
  private readonly cpuCount = availableParallelism();
  private nextCpu = 0;
  /** Workers the pool keeps: `workers` from the configuration until remote control or autoscale resizes it. */
  private targetWorkers: number;
  /** Last time a reserve answered (with or without packages) or a run finished: the health probe's signal. */
  lastProgressAt: number;

  constructor(
    readonly config: ResolvedConfig,
    readonly tasq: Tasq,
    private readonly options: SentinelOptions,
  ) {
    this.identity = clusterIdentity(config);
    this.rateLimits = new RateLimits(config.rateLimits, options.clock);
    this.monitor = new Monitor({
      tasq,
      clock: options.clock,
      logger: options.logger,
      events: this.events,
      stats: this.stats,
      settings: {
        maxAttempts: config.maxAttempts,
        ackFailures: config.ackFailures,
        saveLimit: config.saveLimit,
        retryMs: config.retryMs,
        ...(config.saveLimitPer ? { saveLimitPer: config.saveLimitPer } : {}),
      },
    });
    this.workerSettings = {
      tasks: config.tasks,
      cwd: options.cwd,
      sampleMs: config.maxRssBytes !== undefined ? Math.max(100, config.guardCycleMs) : 0,
      exitWithParent: config.daemonizeWorkers,
    };
    this.targetWorkers = config.workers;
    this.lastProgressAt = options.clock.now();
    this.whenStopping = new Promise((resolve) =>
      this.fetchControl.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** True while this cluster's scheduler holds the leader lock (it alone enqueues scheduled runs). */
  get isSchedulerLeader(): boolean {
    return this.scheduler?.isLeader ?? false;
  }

  /** `shared` when rate limits hold across clusters, `cluster` when per cluster, `none` without limits. */
  get rateLimitScope(): RateLimitScope {
    return this.rateLimits.scope;
  }

  /** Error reports the reporter could not take. */
  get reporterFailures(): number {
    return this.reporting?.reporterFailures ?? 0;
  }

  /**
   * Load the error reporter, start the workers (waiting until each has imported the tasks), choose the
   * rate-limit scope, write the configured schedules and start the scheduler, then fetching.
   */
  async start(): Promise<void> {
    const { logger, cwd } = this.options;
    if (this.config.errorReporter) {
      const { reporter, wantsArgs } = await loadErrorReporter(this.config.errorReporter, logger, cwd);
      this.reporting = new FailureReporting(reporter, wantsArgs, this.config.cluster, logger);
      this.monitor.reporting = this.reporting;
    }
    const starting: Promise<void>[] = [];
    for (let i = 0; i < this.targetWorkers; i++) starting.push(this.spawnWorker());
    const results = await Promise.allSettled(starting);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    try {
      if (failure) throw failure.reason;
      // Every worker has said which tasks carry their own rateLimit: the limits are all known now.
      if (!this.rateLimits.empty) {
        const limiter = await this.tasq.rateLimiter();
        if (limiter) this.rateLimits.share(limiter, () => this.dispatch(), logger);
      }
      if (this.config.scheduler) {
        this.scheduler = await startClusterScheduler(this.tasq, this.identity, {
          ...this.options.scheduler,
          logger,
        });
      }
    } catch (error) {
      for (const slot of this.workers.values()) slot.handle.kill();
      await this.reporting?.close();
      throw error;
    }
    this.guardTimer = setInterval(() => this.guard(), this.config.guardCycleMs);
    if (this.tasq.broker.capabilities.extend) {
      // Extend well before the lease runs out: every quarter lease, anything past half of it.
      this.leaseTimer = setInterval(
        () => this.extendLeases(),
        Math.max(20, Math.floor(this.config.retryMs / 4)),
      );
    }
    // Two reserves in flight per queue when queueLimit holds two bulks: one claim round trip no longer
    // bounds how fast a busy pool is fed.
    // (Measured on PostgreSQL, c=50, bulk 100: +9% in two of three paired runs; within noise in the third.)
    const perQueue = this.config.bulk > 1 && this.config.queueLimit >= 2 * this.config.bulk ? 2 : 1;
    this.fetchLoops = this.config.queues.flatMap((queue) =>
      Array.from({ length: perQueue }, () => this.fetchLoop(queue)),
    );
    this.events.emit('cluster-started', {
      name: this.config.name,
      cluster: this.config.cluster,
      workers: this.config.workers,
      pool: this.config.pool,
      queues: this.config.queues,
      broker: this.tasq.broker.name,
    });
  }

  workerInfo(): WorkerInfo[] {
    return [...this.workers.values()].map((slot) => ({
      id: slot.id,
      ...(slot.handle.pid !== undefined ? { pid: slot.handle.pid } : {}),
      kind: slot.handle.kind,
      running: slot.running.size,
      tasksDone: slot.tasksDone,
      ...(slot.rssBytes !== undefined ? { rssBytes: slot.rssBytes } : {}),
      retiring: slot.retiring,
      jobs: [...slot.running.values()].map((entry) => ({
        id: entry.ref.id,
        name: entry.ref.name,
        queue: entry.ref.queue,
        startedAt: entry.startedAt ?? 0,
      })),
    }));
  }

  /** Packages held right now: waiting for a worker, running, or being settled. */
  heldCount(): { buffered: number; running: number; total: number } {
    let running = 0;
    for (const slot of this.workers.values()) running += slot.running.size;
    return { buffered: this.buffer.length, running, total: this.held.size };
  }

  // ---------------------------------------------------------------- workers

  private spawnWorker(): Promise<void> {
    const id = this.nextWorkerId++;
    const slot: WorkerSlot = {
      id,
      handle: undefined as unknown as WorkerHandle,
      ready: false,
      retiring: false,
      running: new Map(),
      tasksDone: 0,
      startedAt: this.options.clock.now(),
      exited: false,
    };
    const ready = new Promise<void>((resolve, reject) => {
      slot.onReady = (error) => (error ? reject(error) : resolve());
    });
    const callbacks = {
      onMessage: (message: FromWorker) => this.onWorkerMessage(slot, message),
      onExit: (code: number | null, signal: string | null) => this.onWorkerExit(slot, code, signal),
    };
    const { pool } = this.config;
    if (pool === 'inline') {
      slot.handle = createInlineWorker(
        this.options.registry ?? defaultRegistry,
        this.workerSettings,
        callbacks,
      );
    } else if (pool === 'thread') {
      const maxHeapMb = this.config.maxRssBytes
        ? Math.ceil((this.config.maxRssBytes * HARD_RSS_FACTOR) / 2 ** 20)
        : undefined;
      slot.handle = spawnThreadWorker(this.workerSettings, callbacks, maxHeapMb ? { maxHeapMb } : {});
    } else {
      slot.handle = spawnProcessWorker(this.workerSettings, callbacks, {
        ...(this.options.workerExecArgv ? { execArgv: this.options.workerExecArgv } : {}),
        ...(this.config.cpuAffinity ? { cpus: this.pickCpus(this.config.cpuAffinity) } : {}),
      });
    }
    this.workers.set(id, slot);
    this.stats.workersStarted++;
    return ready;
  }

  private pickCpus(count: number): number[] {
    const cpus: number[] = [];
    for (let i = 0; i < Math.min(count, this.cpuCount); i++) {
      cpus.push(this.nextCpu % this.cpuCount);
      this.nextCpu++;
    }
    return cpus;
  }

  private onWorkerMessage(slot: WorkerSlot, message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        slot.ready = true;
        this.spawnFailures = 0;
        for (const [name, rate] of Object.entries(message.rateLimits ?? {}))
          this.rateLimits.addTaskDefault(name, rate);
        for (const [name, defaults] of Object.entries(message.runDefaults ?? {}))
          this.runDefaults.set(name, defaults);
        this.events.emit('worker-online', {
          workerId: slot.id,
          pid: slot.handle.pid,
          tasks: message.tasks.length,
        });
        slot.onReady?.();
        this.dispatch();
        return;
      case 'load-error':
        slot.onReady?.(new Error(message.message));
        this.options.logger.error({ workerId: slot.id }, message.message);
        return;
      case 'memory':
        slot.rssBytes = message.rssBytes;
        this.checkHardMemory(slot, message.rssBytes);
        return;
      case 'log':
        this.events.emit('task-log', {
          workerId: slot.id,
          level: message.level,
          fields: message.fields,
          ...(message.message !== undefined ? { message: message.message } : {}),
        });
        return;
      case 'done':
        slot.tasksDone = message.tasksDone;
        slot.rssBytes = message.rssBytes;
        for (const item of message.items) {
          const entry = slot.running.get(item.runId);
          if (!entry) continue; // already settled (its worker was declared lost)
          slot.running.delete(item.runId);
          this.finishRun(
            entry,
            taskResultOf(entry.pkg, item.outcome, {
              deliveries: entry.delivery.deliveries,
              saveArgs: this.config.saveArgs,
            }),
          );
        }
        this.lastProgressAt = this.options.clock.now();
        this.checkRecycle(slot);
        this.dispatch();
        return;
    }
  }

  private finishRun(entry: HeldPackage, result: TaskResult, how: { workerLost?: boolean } = {}): void {
    this.runningCount--;
    this.wakeRoom();
    for (const timer of entry.timers) clearTimeout(timer);
    entry.timers = [];
    void this.monitor.complete(entry, result, how).finally(() => this.forget(entry));
  }

  private checkRecycle(slot: WorkerSlot): void {
    if (slot.retiring) {
      if (slot.running.size === 0) slot.handle.send({ type: 'retire' });
      return;
    }
    const overMemory =
      this.config.maxRssBytes !== undefined && (slot.rssBytes ?? 0) > this.config.maxRssBytes;
    if (overMemory || slot.tasksDone >= this.config.recycle) {
      this.startSuccessor(slot);
      this.retire(slot, overMemory ? 'max-rss' : 'recycle');
    } else if (slot.tasksDone >= this.config.recycle - this.prestartMargin()) {
      this.startSuccessor(slot);
    }
  }

  /**
   * A fresh process takes 100-300 ms to import the tasks; a worker nearing `recycle` gets its successor
   * started this many tasks early, so the pool is never empty while the old one retires.
   */
  private prestartMargin(): number {
    return Math.max(this.config.concurrency * 2, Math.ceil(this.config.recycle / 10));
  }

  private startSuccessor(slot: WorkerSlot): void {
    if (slot.successorStarting || this.stopping) return;
    slot.successorStarting = true;
    void this.spawnWorker().catch((error) => this.onSpawnFailure(error));
  }

  private retire(slot: WorkerSlot, reason: RetireReason): void {
    if (slot.retiring || slot.exited) return;
    slot.retiring = true;
    this.stats.workersRecycled++;
    this.events.emit('worker-recycled', {
      workerId: slot.id,
      pid: slot.handle.pid,
      reason,
      tasksDone: slot.tasksDone,
      ...(slot.rssBytes !== undefined ? { rssBytes: slot.rssBytes } : {}),
    });
    if (slot.running.size === 0) slot.handle.send({ type: 'retire' });
    this.dispatch();
  }

  private onWorkerExit(slot: WorkerSlot, code: number | null, signal: string | null): void {
    if (slot.exited) return;
    slot.exited = true;
    this.workers.delete(slot.id);
    const expected = (slot.retiring && slot.running.size === 0 && code === 0) || this.stopping;
    if (!slot.ready)
      slot.onReady?.(
        new Error(`worker ${slot.id} exited (code ${code}, signal ${signal}) before it was ready`),
      );
    if (!expected) this.stats.workersCrashed++;
    this.events.emit('worker-offline', { workerId: slot.id, pid: slot.handle.pid, code, signal, expected });
    const now = this.options.clock.now();
    for (const entry of slot.running.values()) {
      const startedAt = entry.startedAt ?? now;
      const failure = (name: string, message: string): TaskResult => ({
        id: entry.pkg.id,
        name: entry.pkg.name,
        queue: entry.pkg.queue,
        status: 'failure',
        error: { name, message },
        attempts: entry.delivery.deliveries,
        enqueuedAt: entry.pkg.enqueuedAt,
        startedAt,
        stoppedAt: now,
        ...(entry.pkg.group !== undefined ? { group: entry.pkg.group } : {}),
        ...(entry.pkg.groupIndex !== undefined ? { groupIndex: entry.pkg.groupIndex } : {}),
      });
      if (entry.timedOutAfterMs !== undefined) {
        this.finishRun(
          entry,
          failure(
            'TaskTimeoutError',
            `the task ran past its timeout of ${entry.timedOutAfterMs} ms; its worker was killed`,
          ),
        );
      } else if (entry.memoryExceeded) {
        const { rssBytes, limitBytes } = entry.memoryExceeded;
        this.finishRun(
          entry,
          failure(
            'WorkerMemoryError',
            `the worker's memory reached ${mb(rssBytes)} MB, past the hard ceiling of ${mb(limitBytes)} MB; it was killed`,
          ),
        );
      } else {
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        this.finishRun(entry, failure('WorkerLostError', `the worker running the task ${how}`), {
          workerLost: true,
        });
      }
    }
    slot.running.clear();
    if (this.stopping) {
      this.wakeRoom();
      return;
    }
    // A retired worker was replaced when it retired; any other loss is replaced now.
    if (!slot.retiring && !slot.successorStarting) {
      if (slot.ready) void this.spawnWorker().catch((error) => this.onSpawnFailure(error));
      else this.onSpawnFailure(new Error(`worker ${slot.id} failed to start`));
    }
    this.dispatch();
  }

  private onSpawnFailure(error: unknown): void {
    this.spawnFailures++;
    this.options.logger.error(
      { failures: this.spawnFailures },
      `starting a worker failed: ${String((error as Error)?.message ?? error)}`,
    );
    // The guard cycle starts the missing workers; a growing pause keeps a broken tasks module from
    // turning into a fork loop.
  }

  private aliveWorkers(): number {
    let count = 0;
    for (const slot of this.workers.values()) if (!slot.retiring) count++;
    return count;
  }

  /** The supervisor loop: replace missing workers, watch memory while tasks run. */
  private guard(): void {
    if (this.stopping) return;
    const missing = this.targetWorkers - this.aliveWorkers();
    if (missing > 0 && !this.respawnTimer) {
      const pause =
        this.spawnFailures === 0 ? 0 : Math.min(30_000, 250 * 2 ** Math.min(this.spawnFailures, 7));
      this.respawnTimer = setTimeout(() => {
        this.respawnTimer = undefined;
        if (this.stopping) return;
        const stillMissing = this.targetWorkers - this.aliveWorkers();
        for (let i = 0; i < stillMissing; i++)
          void this.spawnWorker().catch((error) => this.onSpawnFailure(error));
      }, pause);
    }
    if (this.config.maxRssBytes !== undefined) {
      for (const slot of this.workers.values()) {
        if (slot.running.size === 0) continue;
        const rss = slot.handle.sampleRssBytes();
        if (rss !== undefined) {
          slot.rssBytes = rss;
          this.checkHardMemory(slot, rss);
        }
      }
    }
  }

  private checkHardMemory(slot: WorkerSlot, rssBytes: number): void {
    if (this.config.maxRssBytes === undefined || slot.running.size === 0) return;
    const limitBytes = this.config.maxRssBytes * HARD_RSS_FACTOR;
    if (rssBytes <= limitBytes) return;
    for (const entry of slot.running.values()) {
      if (entry.memoryExceeded || entry.timedOutAfterMs !== undefined) continue;
      entry.memoryExceeded = { rssBytes, limitBytes };
      this.events.emit('task-memory-exceeded', { ...entry.ref, workerId: slot.id, rssBytes, limitBytes });
    }
    slot.handle.kill();
  }

  // ---------------------------------------------------------------- pool size (remote control, autoscale)

  /** Workers the pool keeps now. */
  get poolSize(): number {
    return this.targetWorkers;
  }

  /**
   * Keep `size` workers from now on. Growing starts the new workers at once; shrinking retires the idlest
   * workers, which finish what they run and exit (nothing is interrupted). Returns the new size.
   */
  resize(size: number): number {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`pool size must be at least 1, got ${size}`);
    if (this.stopping) return this.targetWorkers;
    this.targetWorkers = size;
    const alive = [...this.workers.values()].filter((slot) => !slot.retiring && !slot.exited);
    if (alive.length < size) {
      for (let i = alive.length; i < size; i++)
        void this.spawnWorker().catch((error) => this.onSpawnFailure(error));
    } else if (alive.length > size) {
      alive.sort((a, b) => a.running.size - b.running.size || b.id - a.id);
      for (const slot of alive.slice(0, alive.length - size)) this.retire(slot, 'pool-shrink');
    }
    return this.targetWorkers;
  }

  /**
   * Recycle every worker gracefully (the operator's restart): each gets a successor started now, takes no
   * more tasks, finishes what it runs and exits. Workers re-import the tasks modules, so new code is picked up.
   */
  restartWorkers(): number {
    if (this.stopping) return 0;
    const current = [...this.workers.values()].filter((slot) => !slot.retiring && !slot.exited);
    for (const slot of current) {
      this.startSuccessor(slot);
      this.retire(slot, 'restart');
    }
    return current.length;
  }

  /** Read each worker process's memory now (Linux: /proc, without the worker's help). */
  sampleWorkerMemory(): void {
    for (const slot of this.workers.values()) {
      const rss = slot.handle.sampleRssBytes();
      if (rss !== undefined) slot.rssBytes = rss;
    }
  }

  // ---------------------------------------------------------------- fetching

  /**
   * How many more packages the fetcher may reserve. `queueLimit` bounds what waits for a worker or runs;
   * packages being settled (saving, acking) do not count, so a slow result backend does not starve the
   * workers, but past SETTLING_FACTOR × queueLimit of them fetching pauses until they catch up.
   */
  private room(): number {
    const settling = this.held.size - this.buffer.length - this.runningCount;
    if (settling > Math.max(256, this.config.queueLimit * SETTLING_FACTOR)) return 0;
    return this.config.queueLimit - this.buffer.length - this.runningCount - this.reservingSlots;
  }

  private waitForRoom(): Promise<void> {
    return new Promise((resolve) => {
      const previous = this.roomWaiter;
      this.roomWaiter = () => {
        previous?.();
        resolve();
      };
    });
  }

  private wakeRoom(): void {
    const waiter = this.roomWaiter;
    this.roomWaiter = undefined;
    waiter?.();
  }

  private async fetchLoop(queue: string): Promise<void> {
    const signal = this.fetchControl.signal;
    const { clock, logger } = this.options;
    const broker = this.tasq.broker;
    const maxBatch = broker.capabilities.maxBatch;
    // A lease is dated from when the reserve left, and the broker may grant it at any moment of the
    // wait: a wait of at most a quarter lease leaves a package three quarters of its lease to be started.
    const waitMs = Math.min(this.options.reserveWaitMs ?? 5_000, this.config.retryMs / 4);
    let errorPause = 0;
    const wholeBulk = Math.min(this.config.bulk, maxBatch, this.config.queueLimit);
    while (!signal.aborted) {
      const room = this.room();
      // Refill in whole bulks while the buffer still feeds every free slot: topping up one package per
      // finished run costs one reserve round trip per job at low concurrency.
      if (room <= 0 || this.readyWorkers() === 0 || (room < wholeBulk && !this.starving())) {
        await raceTimeout(this.config.guardCycleMs, this.waitForRoom(), this.whenStopping);
        continue;
      }
      let max = Math.min(room, this.config.bulk, maxBatch);
      const limiter = this.rateLimits.forQueue(queue);
      if (limiter) {
        max = limiter.take(max);
        if (max === 0) {
          await raceTimeout(limiter.waitMs(), this.whenStopping);
          continue;
        }
      }
      this.reservingSlots += max;
      const requestSentAt = clock.now();
      let deliveries: Delivery[] = [];
      try {
        deliveries = await broker.reserve(queue, { max, leaseMs: this.config.retryMs, waitMs, signal });
        errorPause = 0;
        this.lastProgressAt = clock.now();
      } catch (error) {
        if (signal.aborted) break;
        errorPause = Math.min(10_000, errorPause === 0 ? 250 : errorPause * 2);
        this.events.emit('fetch-error', { queue, error: String((error as Error).message ?? error) });
        logger.warn({ queue, retryInMs: errorPause }, `reserve failed: ${(error as Error).message}`);
        await raceTimeout(errorPause, this.whenStopping);
        continue;
      } finally {
        this.reservingSlots -= max;
        if (limiter) limiter.giveBack(max - deliveries.length);
      }
      for (const delivery of deliveries) this.accept(delivery, requestSentAt);
      if (deliveries.length > 0) this.dispatch();
      if (signal.aborted) break;
      // A broker that cannot wait returns at once when empty: poll instead of spinning.
      if (deliveries.length === 0 && clock.now() - requestSentAt < this.config.pollMs) {
        await raceTimeout(this.config.pollMs, this.whenStopping);
      }
    }
  }

  /** Fewer packages wait in the buffer than worker slots are free: the pool will idle without a reserve. */
  private starving(): boolean {
    let free = 0;
    for (const slot of this.workers.values()) {
      if (slot.ready && !slot.retiring && !slot.exited) free += this.config.concurrency - slot.running.size;
    }
    return this.buffer.length < Math.max(1, free);
  }

  private readyWorkers(): number {
    let count = 0;
    for (const slot of this.workers.values()) if (slot.ready && !slot.retiring) count++;
    return count;
  }

  /**
   * Decode a delivery and hold it, or reject it (never run), or fail it for good (delivered beyond its
   * maxAttempts), or send it back until its eta. Its lease is dated from when the reserve left.
   */
  private accept(delivery: Delivery, requestSentAt: number): void {
    let pkg: HeldPackage['pkg'];
    try {
      pkg = this.tasq.codec.decode(delivery.body);
    } catch (error) {
      const reason =
        error instanceof PackageRejectedError
          ? error.message
          : `package rejected: ${(error as Error).message}`;
      this.stats.rejected++;
      this.events.emit('package-rejected', { deliveryId: delivery.id, queue: delivery.queue, reason });
      void this.monitor.rejectDelivery(delivery, reason);
      return;
    }
    pkg = withRunDefaults(pkg, this.runDefaults.get(pkg.name));
    const now = this.options.clock.now();
    const entry: HeldPackage = {
      delivery,
      pkg,
      ref: describeRef(delivery, pkg),
      leaseUntil: leaseEndsAt(this.tasq.broker.capabilities, requestSentAt, this.config.retryMs),
      leaseLost: false,
      extending: false,
      state: 'buffered',
      timers: [],
    };
    this.stats.received++;
    const refusal = beyondMaxAttempts(pkg, delivery.deliveries, {
      maxAttempts: this.config.maxAttempts,
      now,
      saveArgs: this.config.saveArgs,
    });
    if (refusal) {
      this.held.add(entry);
      this.events.emit('task-received', entry.ref);
      void this.monitor
        .complete(entry, refusal, { beyondMaxAttempts: true })
        .finally(() => this.forget(entry));
      return;
    }
    if (pkg.eta !== undefined && pkg.eta > now) {
      // Early: a broker whose delay maximum is shorter than the job's delay hands it out before its time.
      this.held.add(entry);
      void this.monitor.release(entry, pkg.eta - now, 'not due yet').finally(() => this.forget(entry));
      return;
    }
    this.held.add(entry);
    this.buffer.push(entry);
    this.events.emit('task-received', entry.ref);
  }

  private forget(entry: HeldPackage): void {
    if (this.held.delete(entry)) this.wakeRoom();
  }

  // ---------------------------------------------------------------- dispatching

  private pickWorker(): WorkerSlot | undefined {
    let best: WorkerSlot | undefined;
    for (const slot of this.workers.values()) {
      if (!slot.ready || slot.retiring || slot.exited || slot.running.size >= this.config.concurrency)
        continue;
      if (!best || slot.running.size < best.running.size) best = slot;
    }
    return best;
  }

  private dispatch(): void {
    if (this.stopping || this.buffer.length === 0) return;
    const orders = new Map<WorkerSlot, RunOrder[]>();
    let waitForTokensMs = 0;
    const now = this.options.clock.now();
    const marginMs = leaseMarginMs(this.config.retryMs);
    for (let i = 0; i < this.buffer.length; ) {
      const entry = this.buffer[i]!;
      const standing = entry.leaseLost ? 'ended' : leaseStanding(entry.leaseUntil, now, marginMs);
      if (standing !== 'held') {
        this.buffer.splice(i, 1);
        this.neverStart(entry, standing);
        continue;
      }
      const slot = this.pickWorker();
      if (!slot) break;
      const gates = this.rateLimits.gatesFor(entry.pkg.name, entry.delivery.queue);
      // Ask every gate (no short-circuit): a shared gate starts fetching its token when asked.
      const ready = gates.map((gate) => gate.ready());
      if (ready.includes(false)) {
        for (const gate of gates) {
          const wait = gate.waitMs();
          if (wait > 0) waitForTokensMs = waitForTokensMs === 0 ? wait : Math.min(waitForTokensMs, wait);
        }
        i++;
        continue;
      }
      for (const gate of gates) gate.consume();
      this.buffer.splice(i, 1);
      const order = this.startRun(entry, slot);
      let list = orders.get(slot);
      if (!list) {
        list = [];
        orders.set(slot, list);
      }
      list.push(order);
    }
    for (const [slot, runs] of orders) slot.handle.send({ type: 'run', runs });
    if (waitForTokensMs > 0 && !this.dispatchTimer) {
      this.dispatchTimer = setTimeout(
        () => {
          this.dispatchTimer = undefined;
          this.dispatch();
        },
        Math.max(1, waitForTokensMs),
      );
    }
  }

  /**
   * A package whose lease is over, or too near its end, is not started: a run could outlive the lease
   * and another consumer run the job meanwhile. One still ours is given back; one already over is just
   * dropped (the broker delivers it again when its lease ends).
   */
  private neverStart(entry: HeldPackage, standing: 'short' | 'ended'): void {
    if (standing === 'short') {
      void this.monitor
        .release(entry, 0, 'its lease was nearly over before it could start')
        .finally(() => this.forget(entry));
      return;
    }
    if (!entry.leaseLost) {
      this.stats.leasesLost++;
      this.events.emit('lease-lost', { ...entry.ref, operation: 'start' });
      this.options.logger.warn(
        { jobId: entry.ref.id, queue: entry.ref.queue },
        'not starting a job whose lease already ended (the broker answered late, or this process was stalled); it will be delivered again',
      );
    }
    this.forget(entry);
  }

  private startRun(entry: HeldPackage, slot: WorkerSlot): RunOrder {
    const runId = this.nextRunId++;
    entry.state = 'running';
    entry.runId = runId;
    entry.workerId = slot.id;
    entry.startedAt = this.options.clock.now();
    slot.running.set(runId, entry);
    this.runningCount++;
    this.stats.started++;
    const dueAt = Math.max(entry.pkg.enqueuedAt, entry.pkg.eta ?? 0);
    const waitMs = Math.max(0, entry.startedAt - dueAt);
    this.events.emit('task-started', { ...entry.ref, workerId: slot.id, waitMs });
    const timeoutMs = entry.pkg.timeoutMs ?? this.config.timeoutMs;
    const softTimeoutMs = entry.pkg.softTimeoutMs ?? this.config.softTimeoutMs;
    if (softTimeoutMs !== undefined && (timeoutMs === undefined || softTimeoutMs < timeoutMs)) {
      entry.timers.push(
        setTimeout(() => {
          if (!slot.running.has(runId)) return;
          this.events.emit('task-soft-timed-out', { ...entry.ref, workerId: slot.id, softTimeoutMs });
          slot.handle.send({ type: 'abort', runId, reason: `soft timeout of ${softTimeoutMs} ms reached` });
        }, softTimeoutMs),
      );
    }
    if (timeoutMs !== undefined) {
      entry.timers.push(
        setTimeout(() => {
          if (!slot.running.has(runId)) return;
          entry.timedOutAfterMs = timeoutMs;
          this.stats.timedOut++;
          this.events.emit('task-timed-out', { ...entry.ref, workerId: slot.id, timeoutMs });
          // The retry must never overlap this attempt: the outcome is settled only once the worker is gone.
          slot.handle.kill();
        }, timeoutMs),
      );
    }
    return { runId, pkg: entry.pkg, deliveries: entry.delivery.deliveries };
  }

  // ---------------------------------------------------------------- leases

  private extendLeases(): void {
    const now = this.options.clock.now();
    const half = this.config.retryMs / 2;
    for (const entry of this.held) {
      if (entry.extending || entry.leaseLost || entry.leaseUntil - now > half) continue;
      entry.extending = true;
      this.tasq.broker
        .extend(entry.delivery, this.config.retryMs)
        .then(
          () => {
            // Dated from when the request left (`now`), not from when its answer was read.
            entry.leaseUntil = Math.max(entry.leaseUntil, now + this.config.retryMs);
            this.stats.leasesExtended++;
          },
          (error) => {
            if (error instanceof LeaseLostError) {
              entry.leaseLost = true;
              this.stats.leasesLost++;
              this.events.emit('lease-lost', { ...entry.ref, operation: 'extend' });
            } else {
              this.options.logger.warn(
                { jobId: entry.ref.id },
                `extending a lease failed: ${(error as Error).message}`,
              );
            }
          },
        )
        .finally(() => {
          entry.extending = false;
        });
    }
  }

  // ---------------------------------------------------------------- stopping

  /**
   * Stop fetching, give back what was fetched but not started, let running tasks finish for up to
   * `timeoutMs`, then kill what still runs (its deliveries are released) and close the connections.
   */
  stop(options: { timeoutMs?: number; reason?: string } = {}): Promise<void> {
    if (this.stopped) return this.stopped;
    this.stopping = true;
    const reason = options.reason ?? 'stop requested';
    const timeoutMs = options.timeoutMs ?? this.config.stopTimeoutMs;
    this.events.emit('cluster-stopping', { reason });
    this.stopped = (async () => {
      // The scheduler stops first and gives leadership up, so another cluster takes over at once.
      const schedulerStopped = this.scheduler?.stop();
      this.fetchControl.abort();
      clearInterval(this.guardTimer);
      clearTimeout(this.respawnTimer);
      clearTimeout(this.dispatchTimer);
      this.wakeRoom();
      await Promise.allSettled(this.fetchLoops);
      const unstarted = this.buffer.splice(0);
      await Promise.allSettled(
        unstarted.map((entry) =>
          this.monitor.release(entry, 0, 'cluster stopping').finally(() => this.forget(entry)),
        ),
      );
      let forced = false;
      const drained = this.waitUntilIdle();
      const deadline = new Promise<'deadline'>((resolve) => {
        if (this.killRequested) return resolve('deadline');
        const timer = setTimeout(() => resolve('deadline'), timeoutMs);
        drained.finally(() => clearTimeout(timer));
        this.forceKill = () => {
          clearTimeout(timer);
          resolve('deadline');
        };
      });
      if ((await Promise.race([drained.then(() => 'drained' as const), deadline])) === 'deadline') {
        forced = true;
        for (const slot of this.workers.values()) {
          slot.killedForStop = true;
          slot.handle.kill();
        }
      }
      await this.retireAll();
      await this.monitor.drain();
      clearInterval(this.leaseTimer);
      this.rateLimits.close();
      await schedulerStopped;
      await this.reporting?.close();
      await this.tasq.close();
      this.events.emit('cluster-stopped', { reason, forced });
    })();
    return this.stopped;
  }

  /** A second signal: kill running tasks now (their deliveries are released) and finish stopping. */
  kill(): Promise<void> {
    // The second signal may come while the first is still giving back prefetched packages, before the
    // drain deadline exists: the flag makes that deadline expire at once.
    this.killRequested = true;
    const stopping = this.stop({ timeoutMs: 0, reason: 'killed' });
    this.forceKill?.();
    return stopping;
  }

  private async waitUntilIdle(): Promise<void> {
    while (this.heldCount().running > 0) {
      await raceTimeout(50, this.waitForRoom());
    }
  }

  private async retireAll(): Promise<void> {
    const exits = [...this.workers.values()].map(
      (slot) =>
        new Promise<void>((resolve) => {
          if (slot.exited) return resolve();
          const check = setInterval(() => {
            if (slot.exited) {
              clearInterval(check);
              clearTimeout(kill);
              resolve();
            }
          }, 20);
          const kill = setTimeout(() => slot.handle.kill(), 5_000);
          slot.retiring = true;
          slot.handle.send({ type: 'retire' });
        }),
    );
    await Promise.all(exits);
  }
}

/** Wait for the first of `promises` or `ms`; the timer is cleared either way (the fetch loop waits often). */
async function raceTimeout(ms: number, ...promises: Promise<unknown>[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([...promises, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function mb(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}

export type { Tasq };
