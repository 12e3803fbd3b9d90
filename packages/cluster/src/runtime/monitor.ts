/**
 * The monitor carries out what the job lifecycle (`decideOutcome` in @tasq/core, the same table sync
 * mode uses) decided for a finished run: saves the result, sends the follow-ups (hook, next chain link,
 * chord callback), then acks, releases, dead-letters or re-enqueues. When a step fails part way, the
 * lifecycle decides again (`decideAfterFailedStep`); the monitor never picks an action of its own.
 * Every delivery is settled here and nowhere else.
 *
 * Order: save → follow-ups → settle. A cluster that dies between the save and the ack sees the package
 * again and runs it again (at-least-once); the result is stored under the job id, so it is stored once.
 * A run whose lease was lost (an extend failed, or the lease ran out and the broker says it moved on, or
 * cannot be asked) is counted as a late completion and not applied at all: no result saved, no follow-ups,
 * no success reported. Its package belongs to another delivery now.
 */
import type { BrokerConnectionError, Clock, Logger, TaskResult } from '@tasq/core';
import { type BrokerClient, LeaseLostError, packageLabel } from '@tasq/core/backend';
import {
  cancelledRunResult,
  decideAfterFailedStep,
  decideOutcome,
  maxAttemptsOf,
  type OutcomeDecision,
  type OutcomeSettings,
  retryWhileUnreachable,
  type RuntimeServices,
} from '@tasq/core/internal';
import type { ClusterEmitter, ClusterStats } from './events.js';
import type { FailureReporting } from './failure-reporting.js';
import type { HeldPackage } from './held-package.js';
import { LeaseCheck } from './lease-check.js';
import { ResultPruner } from './result-pruner.js';
import { unstorableValue } from './unstorable-result.js';

export interface MonitorOptions {
  /** The broker, result backend and sends of the runtime (not the application's client). */
  services: RuntimeServices;
  clock: Clock;
  logger: Logger;
  events: ClusterEmitter;
  stats: ClusterStats;
  settings: OutcomeSettings & { saveLimitPer?: 'name' | 'group' };
  /**
   * Drop the cancel mark of a job whose cancel has been carried out (its outcome stored, its delivery
   * acked), where marks are kept: without it every cancel left a mark behind for good.
   */
  clearCancelMark?: (jobId: string) => Promise<unknown>;
}

/** Pauses between tries of a settle call or a result save while the broker or backend is unreachable. */
const SETTLE_RETRY_PAUSES_MS = [100, 500, 2_000];

/**
 * How a run ended besides its result: its worker died under it, or it was never run (past maxAttempts,
 * cancelled or expired before it started).
 */
export interface RunEnding {
  workerLost?: boolean;
  beyondMaxAttempts?: boolean;
  notStarted?: 'cancelled' | 'expired';
  /** An operator cancelled it while it ran (the reason): stored as cancelled however the run ended. */
  cancelled?: string;
}

export class Monitor {
  private readonly broker: BrokerClient;
  /** Settlements in flight, counted (a set of their promises cost an add, a `finally` and a delete per job). */
  private inFlight = 0;
  private drainWaiters: Array<() => void> = [];
  private readonly pruner: ResultPruner;
  private readonly leases: LeaseCheck;
  /** The configured error reporter, told about every failed attempt (set at start). */
  reporting: FailureReporting | undefined;

  constructor(private readonly options: MonitorOptions) {
    this.broker = options.services.broker;
    const { saveLimit, saveLimitPer, retryMs } = options.settings;
    this.pruner = new ResultPruner({
      results: options.services.results,
      clock: options.clock,
      logger: options.logger,
      saveLimit,
      ...(saveLimitPer ? { saveLimitPer } : {}),
    });
    this.leases = new LeaseCheck({
      broker: this.broker,
      clock: options.clock,
      retryMs,
      stats: options.stats,
    });
  }

  /** Settlements still in flight (stop waits for them before closing the broker). */
  async drain(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    await this.pruner.flush();
  }

  /** Handle a finished run. Never throws; resolves when the delivery is settled. */
  async complete(entry: HeldPackage, result: TaskResult, how: RunEnding = {}): Promise<void> {
    this.inFlight++;
    try {
      await this.settleRun(entry, result, how);
    } catch (error) {
      this.options.logger.error({ jobId: entry.ref.id, err: String(error) }, 'settling a run failed');
    } finally {
      this.settled();
    }
  }

  /**
   * Give a package back without running it (stop, eta not reached, lease too short to start). A job with
   * limited attempts goes back as a fresh copy of its package (the same signed bytes, so the same job)
   * and this delivery is acked: `maxAttempts` counts deliveries, and one that never ran must not use
   * up an attempt. Any other job is released.
   */
  async release(entry: HeldPackage, delayMs: number, reason: string): Promise<void> {
    this.inFlight++;
    try {
      if (!(await this.giveBack(entry, delayMs))) return;
      this.options.stats.released++;
      this.options.events.emit('task-released', { ...entry.ref, reason, delayMs });
    } finally {
      this.settled();
    }
  }

  /** Dead-letter a package that cannot be decoded; nothing of its payload is logged. */
  async rejectDelivery(delivery: HeldPackage['delivery'], reason: string): Promise<void> {
    this.inFlight++;
    try {
      await this.withRetries(() => this.broker.deadLetter(delivery, reason));
    } catch (error) {
      this.options.logger.warn(
        { deliveryId: delivery.id, queue: delivery.queue, err: String(error) },
        'could not dead-letter a rejected package',
      );
    } finally {
      this.settled();
    }
  }

  /** One settlement ended: wake `drain` when it was the last. */
  private settled(): void {
    if (--this.inFlight > 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }

  private async settleRun(entry: HeldPackage, ran: TaskResult, how: RunEnding): Promise<void> {
    const { events, stats, services, logger } = this.options;
    entry.state = 'settling';
    const runtimeMs = Math.max(0, ran.stoppedAt - ran.startedAt);
    // Most runs end well inside their lease: only a lease near its end costs a call (and an await).
    const leased = this.leases.surelyHeld(entry) || (await this.leases.stillHeld(entry));
    if (!leased) return this.lateCompletion(entry);
    let result = how.cancelled !== undefined ? cancelledRunResult(ran, how.cancelled) : ran;
    let decision = this.decide(entry, result, how);
    if (decision.save) {
      try {
        await this.saveWhileLeased(entry, result);
        if (result.status === 'success') this.pruner.saved();
      } catch (error) {
        if (error instanceof LeaseLostError) return this.lateCompletion(entry);
        ({ result, decision } = await this.afterFailedSave(entry, result, how, error));
      }
    }
    const followed =
      entry.pkg.hook !== undefined || (entry.pkg.chain?.length ?? 0) > 0 || entry.pkg.chord !== undefined;
    if (decision.final && followed) {
      try {
        await services.sendFollowUps(entry.pkg, result);
      } catch (error) {
        logger.error(
          { jobId: entry.ref.id, err: String(error) },
          'enqueueing follow-ups failed; releasing the job so its next run sends them',
        );
        decision = decideAfterFailedStep('follow-ups', decision, error);
      }
    }
    const { action } = decision;

    const stoppedBy = how.notStarted ?? (how.cancelled !== undefined ? 'cancelled' : undefined);
    if (stoppedBy && result.status === 'failure') {
      // Not a failure of the task: counted apart, and not reported to the error reporter.
      const reason = result.error?.message ?? stoppedBy;
      if (stoppedBy === 'cancelled') {
        stats.cancelled++;
        events.emit('task-cancelled', { ...entry.ref, reason });
      } else {
        stats.expired++;
        events.emit('task-expired', { ...entry.ref, reason });
      }
    } else if (result.status === 'success') {
      stats.succeeded++;
      events.emit('task-succeeded', { ...entry.ref, runtimeMs });
    } else {
      stats.failed++;
      events.emit('task-failed', {
        ...entry.ref,
        runtimeMs,
        error: `${result.error?.name ?? 'Error'}: ${result.error?.message ?? 'failed'}`,
        final: decision.final,
        action: action.kind,
      });
      this.reporting?.report(entry, result, decision.final);
    }

    switch (action.kind) {
      case 'ack':
        if (
          (await this.settle(entry, 'ack', () => this.broker.ack(entry.delivery))) &&
          stoppedBy === 'cancelled'
        )
          await this.clearCancelMark(entry);
        return;
      case 'release':
        if (
          await this.settle(entry, 'release', () =>
            this.broker.release(entry.delivery, { delayMs: action.delayMs, allowDelayHops: true }),
          )
        ) {
          stats.released++;
          events.emit('task-released', { ...entry.ref, reason: action.reason, delayMs: action.delayMs });
        }
        return;
      case 'dead-letter':
        if (
          await this.settle(entry, 'deadLetter', () => this.broker.deadLetter(entry.delivery, action.reason))
        ) {
          stats.deadLettered++;
          events.emit('task-dead-lettered', { ...entry.ref, reason: action.reason });
        }
        return;
      case 'retry': {
        const next = {
          ...entry.pkg,
          attempt: action.attempt,
          ...(action.delayMs > 0 ? { eta: this.options.clock.now() + action.delayMs } : {}),
        };
        if (action.delayMs === 0) delete next.eta;
        try {
          await services.send([next]);
        } catch (error) {
          logger.error({ jobId: entry.ref.id, err: String(error) }, 'enqueueing the retry failed; releasing');
          const instead = decideAfterFailedStep('retry', decision, error).action;
          if (instead.kind !== 'release') return;
          await this.settle(entry, 'release', () =>
            this.broker.release(entry.delivery, { delayMs: instead.delayMs, allowDelayHops: true }),
          );
          return;
        }
        stats.retried++;
        events.emit('task-retried', { ...entry.ref, attempt: action.attempt, delayMs: action.delayMs });
        await this.settle(entry, 'ack', () => this.broker.ack(entry.delivery));
        return;
      }
    }
  }

  /**
   * A save failed. A success whose value cannot be stored (a function, a Float64Array: it would fail the
   * same way on every run) becomes a failure that says why, decided and saved in its place. Any other
   * failure is the lifecycle's `save` step failing: the job is released, to run again once the backend
   * answers, and nothing is lost.
   */
  private async afterFailedSave(
    entry: HeldPackage,
    unsaved: TaskResult,
    how: RunEnding,
    error: unknown,
  ): Promise<{ result: TaskResult; decision: OutcomeDecision }> {
    let result = unsaved;
    let failure = error;
    const unstorable = unstorableValue(result);
    if (unstorable) {
      result = unstorable;
      const decision = this.decide(entry, result, how);
      try {
        if (decision.save) await this.options.services.results.save(result);
        return { result, decision };
      } catch (again) {
        failure = again;
      }
    }
    this.options.logger.error(
      { jobId: entry.ref.id, err: String(failure) },
      'saving the result failed; releasing the job',
    );
    return { result, decision: decideAfterFailedStep('save', this.decide(entry, result, how), failure) };
  }

  private decide(entry: HeldPackage, result: TaskResult, how: RunEnding): OutcomeDecision {
    return decideOutcome(
      {
        pkg: entry.pkg,
        result,
        deliveries: entry.delivery.deliveries,
        workerLost: how.workerLost,
        beyondMaxAttempts: how.beyondMaxAttempts,
        notStarted: how.notStarted,
        cancelledWhileRunning: how.cancelled !== undefined,
      },
      this.options.settings,
    );
  }

  /**
   * After the ack, not before: a delivery that comes again because its ack failed must still find the mark.
   * A failure here costs a stale mark, never the job, so it is logged and left.
   */
  private async clearCancelMark(entry: HeldPackage): Promise<void> {
    const clear = this.options.clearCancelMark;
    if (!clear) return;
    try {
      await clear(entry.ref.id);
    } catch (error) {
      this.options.logger.warn(
        { jobId: entry.ref.id, err: String(error) },
        'could not drop the cancel mark of a cancelled job',
      );
    }
  }

  private lateCompletion(entry: HeldPackage): void {
    this.options.stats.lateCompletions++;
    this.options.events.emit('late-completion', entry.ref);
  }

  /**
   * Save the result, trying again while the result backend is unreachable (as settle calls do), so a
   * short outage does not send a finished job round again. Gives up with `LeaseLostError` as soon as the
   * lease is no longer ours: a result is never saved for a run whose lease has gone.
   */
  private saveWhileLeased(entry: HeldPackage, result: TaskResult): Promise<void> {
    return this.withRetries(
      async () => {
        if (entry.leaseLost || this.options.clock.now() >= entry.leaseUntil) {
          throw new LeaseLostError(`the lease of job ${entry.ref.id} ended before its result was saved`);
        }
        await this.options.services.results.save(result);
      },
      (error, attempt) =>
        this.options.logger.warn(
          { jobId: entry.ref.id, attempt, err: error.message },
          'saving the result failed: the result backend is unreachable; trying again',
        ),
    );
  }

  /** Run one settle call; true when it took effect. Connection errors are retried a few times. */
  private async settle(entry: HeldPackage, operation: string, call: () => Promise<void>): Promise<boolean> {
    try {
      await this.withRetries(call);
      return true;
    } catch (error) {
      if (error instanceof LeaseLostError) {
        this.options.stats.leasesLost++;
        this.options.events.emit('lease-lost', { ...entry.ref, operation });
      } else {
        this.options.events.emit('settle-error', { ...entry.ref, operation, error: String(error) });
      }
      return false;
    }
  }

  private withRetries(
    call: () => Promise<void>,
    onRetry?: (error: BrokerConnectionError, attempt: number) => void,
  ): Promise<void> {
    return retryWhileUnreachable(call, {
      pausesMs: SETTLE_RETRY_PAUSES_MS,
      sleep: (ms) => this.options.clock.sleep(ms),
      ...(onRetry ? { onRetry } : {}),
    });
  }

  /** See `release`. True when the delivery was given back. */
  private async giveBack(entry: HeldPackage, delayMs: number): Promise<boolean> {
    const release = () =>
      this.settle(entry, 'release', () =>
        this.broker.release(entry.delivery, { delayMs, allowDelayHops: true }),
      );
    if (maxAttemptsOf(entry.pkg, this.options.settings.maxAttempts) <= 0) return release();
    const { delivery, pkg } = entry;
    try {
      await this.withRetries(async () => {
        await this.broker.enqueue(delivery.queue, [delivery.body], {
          // The copy is labelled as the original was: it stays findable by job id and task name.
          labels: [packageLabel(pkg)],
          priority: pkg.priority ?? 0,
          delayMs,
          allowDelayHops: true,
        });
      });
    } catch (error) {
      this.options.logger.warn(
        { jobId: entry.ref.id, err: String(error) },
        'could not give the job back as a fresh copy; releasing it (the delivery counts as an attempt)',
      );
      return release();
    }
    return this.settle(entry, 'ack', () => this.broker.ack(delivery));
  }
}
