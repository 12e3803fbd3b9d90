/**
 * The dispatcher: hands buffered packages to workers, at most `concurrency` runs each, the idlest
 * worker first, in arrival order as far as rate limits allow; never starts a package whose lease is over
 * or nearly over; and times each run: the soft timeout aborts its `ctx.signal`, the hard timeout kills
 * its worker (the run's failure is settled once the worker is gone, so a retry never overlaps it).
 * An operator's cancel of a running job is timed the same way: its signal aborts at once, and a run
 * still going after the grace between its soft and hard timeouts has its worker killed.
 */
import type { Clock, Logger } from '@tasq/core';
import type { Pool, WorkerSlot } from '../pool/pool.js';
import type { RunOrder } from '../worker/protocol.js';
import { after, type CancelTimer } from './clock-timers.js';
import type { ClusterEmitter, ClusterStats } from './events.js';
import type { HeldLedger } from './held-ledger.js';
import type { HeldPackage } from './held-package.js';
import { leaseMarginMs, leaseStanding } from './lease.js';
import type { RateLimits } from './rate-limiter.js';

export interface DispatcherOptions {
  ledger: HeldLedger;
  pool: Pick<Pool, 'pick' | 'assign'>;
  rateLimits: Pick<RateLimits, 'gatesFor'>;
  clock: Clock;
  logger: Logger;
  events: ClusterEmitter;
  stats: ClusterStats;
  leaseMs: number;
  /** Cluster-wide defaults; a package's own settings win. */
  timeoutMs: number | undefined;
  softTimeoutMs: number | undefined;
  /** How long a cancelled run may take to stop when its timeouts do not say (hard minus soft). Default 10 s. */
  cancelGraceMs?: number;
  /** Give back, without running it, a package whose lease is too short to start. */
  giveBack(entry: HeldPackage, reason: string): void;
}

/** The grace of a cancelled run whose package has no soft and hard timeout to take it from. */
export const DEFAULT_CANCEL_GRACE_MS = 10_000;

export class Dispatcher {
  private nextRunId = 1;
  private cancelRetry: CancelTimer | undefined;
  private stopped = false;
  private readonly marginMs: number;

  constructor(private readonly options: DispatcherOptions) {
    this.marginMs = leaseMarginMs(options.leaseMs);
  }

  /** Start what can start now; when rate limits hold packages back, try again when a token is due. */
  dispatch(): void {
    const { ledger, pool, rateLimits, clock } = this.options;
    const buffer = ledger.buffer;
    if (this.stopped || buffer.length === 0) return;
    const orders = new Map<WorkerSlot, RunOrder[]>();
    let waitForTokensMs = 0;
    const now = clock.now();
    for (let i = 0; i < buffer.length; ) {
      const entry = buffer[i]!;
      const standing = entry.leaseLost ? 'ended' : leaseStanding(entry.leaseUntil, now, this.marginMs);
      if (standing !== 'held') {
        buffer.splice(i, 1);
        this.neverStart(entry, standing);
        continue;
      }
      const slot = pool.pick();
      if (!slot) break;
      const gates = rateLimits.gatesFor(entry.pkg.name, entry.delivery.queue);
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
      buffer.splice(i, 1);
      const order = this.startRun(entry, slot);
      let list = orders.get(slot);
      if (!list) {
        list = [];
        orders.set(slot, list);
      }
      list.push(order);
    }
    for (const [slot, runs] of orders) slot.handle.send({ type: 'run', runs });
    if (waitForTokensMs > 0 && !this.cancelRetry) {
      this.cancelRetry = after(clock, Math.max(1, waitForTokensMs), () => {
        this.cancelRetry = undefined;
        this.dispatch();
      });
    }
  }

  /** Start nothing more (the cluster is stopping). */
  stop(): void {
    this.stopped = true;
    this.cancelRetry?.();
  }

  /**
   * A package whose lease is over, or too near its end, is not started: a run could outlive the lease
   * and another consumer run the job meanwhile. One still ours is given back; one already over is just
   * dropped (the broker delivers it again when its lease ends).
   */
  private neverStart(entry: HeldPackage, standing: 'short' | 'ended'): void {
    if (standing === 'short') {
      this.options.giveBack(entry, 'its lease was nearly over before it could start');
      return;
    }
    if (!entry.leaseLost) {
      this.options.stats.leasesLost++;
      this.options.events.emit('lease-lost', { ...entry.ref, operation: 'start' });
      this.options.logger.warn(
        { jobId: entry.ref.id, queue: entry.ref.queue },
        'not starting a job whose lease already ended (the broker answered late, or this process was stalled); it will be delivered again',
      );
    }
    this.options.ledger.forget(entry);
  }

  /**
   * Stop a running package an operator cancelled: its `ctx.signal` aborts now with a reason naming the
   * cancel; a run still going after the grace is killed with its worker, as a hard timeout is (the
   * outcome is settled once the worker is gone). False when it is not running here (any more).
   */
  cancelRun(entry: HeldPackage, reason: string): boolean {
    const slot = entry.worker;
    const runId = entry.runId;
    if (entry.state !== 'running' || entry.cancelled || !slot || runId === undefined) return false;
    if (!slot.running.has(runId)) return false;
    const { clock, logger } = this.options;
    const graceMs = this.cancelGraceOf(entry);
    entry.cancelled = { reason, graceMs };
    logger.info({ jobId: entry.ref.id, graceMs }, 'stopping a running job an operator cancelled');
    slot.handle.send({ type: 'abort', runId, reason: `job ${entry.ref.id} was cancelled: ${reason}` });
    entry.timers.push(
      after(clock, graceMs, () => {
        if (!slot.running.has(runId)) return;
        logger.warn(
          { jobId: entry.ref.id, workerId: slot.id, graceMs },
          'a cancelled job did not stop within its grace; killing its worker',
        );
        slot.handle.kill();
      }),
    );
    return true;
  }

  /** Hard minus soft timeout where the package (or the cluster) has both, else the configured grace. */
  private cancelGraceOf(entry: HeldPackage): number {
    const timeoutMs = entry.pkg.timeoutMs ?? this.options.timeoutMs;
    const softTimeoutMs = entry.pkg.softTimeoutMs ?? this.options.softTimeoutMs;
    if (timeoutMs !== undefined && softTimeoutMs !== undefined && softTimeoutMs < timeoutMs) {
      return timeoutMs - softTimeoutMs;
    }
    return this.options.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS;
  }

  /**
   * Hand `entry` to `slot`'s worker. With a free slot it starts now; otherwise it waits in the worker,
   * sent ahead, and starts when a run there ends (`runStarted`, from the pool): its timeouts and its
   * `task-started` count from then, not from now.
   */
  private startRun(entry: HeldPackage, slot: WorkerSlot): RunOrder {
    const { ledger } = this.options;
    const runId = this.nextRunId++;
    entry.worker = slot;
    ledger.started(entry);
    entry.runId = runId;
    entry.workerId = slot.id;
    if (this.options.pool.assign(slot, runId, entry)) this.runStarted(entry, slot);
    return { runId, pkg: entry.pkg, deliveries: entry.delivery.deliveries };
  }

  /** `entry`'s run started in `slot`'s worker: date it, say so, and time it. */
  runStarted(entry: HeldPackage, slot: WorkerSlot): void {
    const { clock, events, stats } = this.options;
    const runId = entry.runId!;
    entry.startedAt = clock.now();
    stats.started++;
    const dueAt = Math.max(entry.pkg.enqueuedAt, entry.pkg.eta ?? 0);
    const waitMs = Math.max(0, entry.startedAt - dueAt);
    events.emit('task-started', { ...entry.ref, workerId: slot.id, waitMs });
    const timeoutMs = entry.pkg.timeoutMs ?? this.options.timeoutMs;
    const softTimeoutMs = entry.pkg.softTimeoutMs ?? this.options.softTimeoutMs;
    if (softTimeoutMs !== undefined && (timeoutMs === undefined || softTimeoutMs < timeoutMs)) {
      entry.timers.push(
        after(clock, softTimeoutMs, () => {
          if (!slot.running.has(runId)) return;
          events.emit('task-soft-timed-out', { ...entry.ref, workerId: slot.id, softTimeoutMs });
          slot.handle.send({ type: 'abort', runId, reason: `soft timeout of ${softTimeoutMs} ms reached` });
        }),
      );
    }
    if (timeoutMs !== undefined) {
      entry.timers.push(
        after(clock, timeoutMs, () => {
          if (!slot.running.has(runId)) return;
          entry.timedOutAfterMs = timeoutMs;
          stats.timedOut++;
          events.emit('task-timed-out', { ...entry.ref, workerId: slot.id, timeoutMs });
          // The retry must never overlap this attempt: the outcome is settled only once the worker is gone.
          slot.handle.kill();
        }),
      );
    }
  }
}

/** Stop a finished run's timers. */
export function clearRunTimers(entry: HeldPackage): void {
  for (const cancel of entry.timers) cancel();
  entry.timers = [];
}
