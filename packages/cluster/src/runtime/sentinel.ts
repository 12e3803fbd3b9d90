/**
 * The sentinel: one per cluster, the composition of the runtime's parts. It owns the broker connection
 * (through core's BrokerClient) and every receipt.
 *
 *   fetcher       reserves in bulk up to `queueLimit` ahead, within rate limits       (fetcher.ts)
 *   hold          how much it holds ahead: configured, or following the runs' pace    (hold-ahead.ts)
 *   intake        decodes what came, refuses what must not run                        (intake.ts)
 *   ledger        what this cluster holds, with each lease                             (held-ledger.ts)
 *   dispatcher    hands runs to workers, times them out                                (dispatcher.ts)
 *   lease keeper  extends what is held, marks what is lost                             (lease-keeper.ts)
 *   cancels       finds operators' cancels of what is held, stops those jobs            (operator-cancels.ts)
 *   pool, guard   spawns, recycles, replaces workers, watches memory                   (../pool/pool.ts)
 *   monitor       settles each delivery once, as the job lifecycle decides             (monitor.ts)
 *
 * Which setting each part reads is in part-settings.ts; the wait of a graceful stop in stop-deadline.ts.
 * Every timer runs on the configured `Clock`.
 */
import type { Clock, Logger, ResolvedConfig, TaskRegistry, TaskResult } from '@tasq/core';
import {
  loadErrorReporter,
  type Scheduler,
  type RuntimeServices,
  taskResultOf,
  withResultMarks,
} from '@tasq/core/internal';
import { Pool, type WorkerInfo } from '../pool/pool.js';
import { type ClusterSchedulerOptions, clusterIdentity, startClusterScheduler } from './cluster-scheduler.js';
import { clearRunTimers, Dispatcher } from './dispatcher.js';
import { ClusterEmitter, type ClusterStats, emptyStats } from './events.js';
import { FailureReporting } from './failure-reporting.js';
import { Fetcher } from './fetcher.js';
import { type HeldJobReport, heldJobReports } from './held-job-report.js';
import { HeldLedger } from './held-ledger.js';
import { HoldAhead } from './hold-ahead.js';
import type { HeldPackage } from './held-package.js';
import { Intake } from './intake.js';
import { PausedQueues } from './paused-queues.js';
import { ProgressRelay } from './progress-relay.js';
import { LeaseKeeper } from './lease-keeper.js';
import { Monitor, type RunEnding } from './monitor.js';
import { OperatorCancels } from './operator-cancels.js';
import { fetchSettings, monitorSettings, workerSettings } from './part-settings.js';
import { type RateLimitScope, RateLimits } from './rate-limiter.js';
import { StopDeadline } from './stop-deadline.js';

export { HARD_RSS_FACTOR, type RetireReason, type WorkerInfo } from '../pool/pool.js';

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
  /** How often the cancel marks of held jobs are read. Default 1 s. */
  cancelCheckMs?: number;
}

export class Sentinel {
  readonly events = new ClusterEmitter();
  readonly stats: ClusterStats = emptyStats();
  /** This cluster's identity (`name@host:pid`): the scheduler's lock owner. */
  readonly identity: string;
  /** Last time a reserve answered (with or without packages) or a run finished: the health probe's signal. */
  lastProgressAt: number;
  private scheduler: Scheduler | undefined;
  private reporting: FailureReporting | undefined;
  private readonly ledger: HeldLedger;
  private readonly hold: HoldAhead;
  private readonly monitor: Monitor;
  private readonly rateLimits: RateLimits;
  private readonly pool: Pool;
  private readonly intake: Intake;
  private readonly dispatcher: Dispatcher;
  private readonly fetcher: Fetcher;
  /** The operator's pause flags, where the broker keeps them. */
  private readonly pausedQueues: PausedQueues | undefined;
  private readonly leaseKeeper: LeaseKeeper | undefined;
  private readonly cancels: OperatorCancels;
  /** Relays what tasks report with `ctx.progress`: an event, and a coalesced write to the result backend. */
  readonly progress: ProgressRelay;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private readonly stopDeadline: StopDeadline;

  constructor(
    readonly config: ResolvedConfig,
    readonly services: RuntimeServices,
    private readonly options: SentinelOptions,
  ) {
    const { clock, logger } = options;
    const { events, stats } = this;
    const broker = services.broker;
    // Pause flags and cancel marks, where the broker keeps them, or else the result backend.
    const admin = withResultMarks(broker.broker.administration, services.results.administration);
    this.identity = clusterIdentity(config);
    this.lastProgressAt = clock.now();
    this.hold = new HoldAhead(config, config.adaptiveHold, clock);
    this.ledger = new HeldLedger(this.hold);
    this.rateLimits = new RateLimits(config.rateLimits, clock);
    this.monitor = new Monitor({
      services,
      clock,
      logger,
      events,
      stats,
      settings: monitorSettings(config),
      ...(admin?.capabilities.cancelMarks && admin.clearCancelMarks
        ? { clearCancelMark: (jobId: string) => admin.clearCancelMarks!([jobId]) }
        : {}),
    });
    this.intake = new Intake({
      codec: services.codec,
      capabilities: broker.capabilities,
      ledger: this.ledger,
      monitor: this.monitor,
      clock,
      logger,
      events,
      stats,
      leaseMs: config.retryMs,
      maxAttempts: config.maxAttempts,
      saveArgs: config.saveArgs,
      ...(admin?.capabilities.cancelMarks && admin.cancelMarks
        ? { cancelMarks: (ids: readonly string[]) => admin.cancelMarks!(ids) }
        : {}),
    });
    this.progress = new ProgressRelay({ results: services.results, events, logger, now: () => clock.now() });
    this.pool = new Pool({
      settings: config,
      workerSettings: workerSettings(config, options.cwd),
      clock,
      logger,
      events,
      stats,
      ...(options.registry ? { registry: options.registry } : {}),
      ...(options.workerExecArgv ? { workerExecArgv: options.workerExecArgv } : {}),
      on: {
        onReady: (message) => {
          for (const [name, rate] of Object.entries(message.rateLimits ?? {}))
            this.rateLimits.addTaskDefault(name, rate);
          for (const [name, defaults] of Object.entries(message.runDefaults ?? {}))
            this.intake.addRunDefaults(name, defaults);
        },
        onRunDone: (entry, item) => {
          this.lastProgressAt = clock.now();
          const result = taskResultOf(entry.pkg, item.outcome, {
            deliveries: entry.delivery.deliveries,
            saveArgs: config.saveArgs,
          });
          this.finishRun(entry, result);
        },
        onRunLost: (entry, lost) =>
          this.finishRun(entry, lost.result, lost.workerLost ? { workerLost: true } : {}),
        onRunStarted: (entry, slot) => this.dispatcher.runStarted(entry, slot),
        onRunNotStarted: (entry) => {
          // It waited in a worker that ended: it never ran, so it goes back without using an attempt.
          this.ledger.runEnded();
          void this.giveBack(entry, 0, 'its worker ended before the job started');
        },
        onCapacity: () => this.dispatcher.dispatch(),
        onProgress: (entry, value) => this.progress.report(entry, value),
      },
    });
    this.dispatcher = new Dispatcher({
      ledger: this.ledger,
      pool: this.pool,
      rateLimits: this.rateLimits,
      clock,
      logger,
      events,
      stats,
      leaseMs: config.retryMs,
      timeoutMs: config.timeoutMs,
      softTimeoutMs: config.softTimeoutMs,
      giveBack: (entry, reason) => this.giveBack(entry, 0, reason),
    });
    if (admin?.capabilities.pause && admin.pausedQueues) {
      this.pausedQueues = new PausedQueues({ read: () => admin.pausedQueues!(), clock, logger });
    }
    this.fetcher = new Fetcher({
      settings: fetchSettings(config, options.reserveWaitMs),
      broker,
      ledger: this.ledger,
      pool: this.pool,
      rateLimits: this.rateLimits,
      clock,
      logger,
      events,
      ...(this.pausedQueues ? { paused: this.pausedQueues } : {}),
      hold: this.hold,
      intake: (deliveries, sentAt) => this.intake.acceptBatch(deliveries, sentAt),
      dispatch: () => this.dispatcher.dispatch(),
      onProgress: () => {
        this.lastProgressAt = clock.now();
      },
    });
    this.cancels = new OperatorCancels({
      admin,
      ledger: this.ledger,
      dispatcher: this.dispatcher,
      monitor: this.monitor,
      clock,
      logger,
      saveArgs: config.saveArgs,
      checkMs: options.cancelCheckMs,
    });
    if (broker.capabilities.extend) {
      this.leaseKeeper = new LeaseKeeper({
        broker,
        held: () => this.ledger.all(),
        leaseMs: config.retryMs,
        clock,
        logger,
        events,
        stats,
      });
    }
    this.stopDeadline = new StopDeadline(this.ledger, clock);
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

  /** Workers the pool keeps now. */
  get poolSize(): number {
    return this.pool.size;
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
    try {
      await this.pool.start();
      // Every worker has said which tasks carry their own rateLimit: the limits are all known now.
      if (!this.rateLimits.empty) {
        const limiter = await this.services.rateLimiter();
        if (limiter) this.rateLimits.share(limiter, () => this.dispatcher.dispatch(), logger);
      }
      if (this.config.scheduler) {
        this.scheduler = await startClusterScheduler(this.services, this.identity, {
          ...this.options.scheduler,
          logger,
        });
      }
    } catch (error) {
      this.pool.killAll();
      await this.reporting?.close();
      throw error;
    }
    this.pool.startGuard();
    this.leaseKeeper?.start();
    this.cancels.start();
    // The pause flags read before the first reserve: a cluster started on a paused queue takes nothing.
    await this.pausedQueues?.refresh();
    this.fetcher.start();
    this.events.emit('cluster-started', {
      name: this.config.name,
      cluster: this.config.cluster,
      workers: this.config.workers,
      pool: this.config.pool,
      queues: this.config.queues,
      broker: this.services.broker.name,
    });
  }

  workerInfo(): WorkerInfo[] {
    return this.pool.info();
  }

  /** Packages held right now: waiting for a worker, running, or being settled. */
  heldCount(): { buffered: number; running: number; total: number } {
    return this.ledger.counts();
  }

  /** The jobs held right now (waiting for a worker, running, or being settled), for `tasq job show`. */
  heldJobs(): HeldJobReport[] {
    return heldJobReports(this.ledger);
  }

  /** See Pool.resize. */
  resize(size: number): number {
    return this.pool.resize(size);
  }

  /**
   * Recycle every worker gracefully (the operator's restart): each gets a successor started now, takes no
   * more tasks, finishes what it runs and exits. Workers re-import the tasks modules, so new code is picked up.
   */
  restartWorkers(): number {
    return this.pool.restartAll();
  }

  /** Read each worker process's memory now (Linux: /proc, without the worker's help). */
  sampleWorkerMemory(): void {
    this.pool.sampleMemory();
  }

  /** Stop a held job an operator cancelled (a cancel pushed over pub/sub); false when not held here. */
  cancelJob(jobId: string, reason: string): boolean {
    return this.cancels.cancelJob(jobId, reason);
  }

  private finishRun(entry: HeldPackage, result: TaskResult, how: RunEnding = {}): void {
    this.hold.runEnded();
    this.ledger.runEnded();
    clearRunTimers(entry);
    if (entry.cancelled) how = { ...how, cancelled: entry.cancelled.reason };
    // `complete` never rejects.
    void this.monitor.complete(entry, result, how).then(() => this.ledger.forget(entry));
  }

  private giveBack(entry: HeldPackage, delayMs: number, reason: string): Promise<void> {
    return this.monitor.release(entry, delayMs, reason).finally(() => this.ledger.forget(entry));
  }

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
      this.pool.beginStop();
      this.dispatcher.stop();
      await this.fetcher.stop();
      const unstarted = this.ledger.buffer.splice(0);
      await Promise.allSettled(unstarted.map((entry) => this.giveBack(entry, 0, 'cluster stopping')));
      let forced = false;
      if ((await this.stopDeadline.drainedOrDeadline(timeoutMs)) === 'deadline') {
        forced = true;
        this.pool.killAll();
      }
      await this.pool.retireAll();
      await this.monitor.drain();
      this.leaseKeeper?.stop();
      this.cancels.stop();
      this.rateLimits.close();
      await schedulerStopped;
      await this.reporting?.close();
      await this.services.close();
      this.events.emit('cluster-stopped', { reason, forced });
    })();
    return this.stopped;
  }

  /** A second signal: kill running tasks now (their deliveries are released) and finish stopping. */
  kill(): Promise<void> {
    // The second signal may come while the first is still giving back prefetched packages, before the
    // drain deadline exists: the deadline then expires as soon as it begins.
    this.stopDeadline.expire();
    return this.stop({ timeoutMs: 0, reason: 'killed' });
  }
}
